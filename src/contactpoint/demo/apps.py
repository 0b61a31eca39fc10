from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Running the service: the production server, and the demo local authority (no models)."""

    name = "contactpoint.demo"
