from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Loading a feed end to end: validate, stage, store, match, build golden records (no models)."""

    name = "contactpoint.ingest"
