from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "contactpoint.audit"
    verbose_name = "Audit trail"
