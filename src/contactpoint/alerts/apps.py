from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "contactpoint.alerts"
    verbose_name = "Misuse alerts: rules over the audit trail, routed to directory teams"

    def ready(self) -> None:
        # Break-glass and shielded accesses are alerted as their audit event is recorded (same transaction).
        from contactpoint.alerts import signals  # noqa: F401
