from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "contactpoint.feeds"
    verbose_name = "Source systems and their feeds"
