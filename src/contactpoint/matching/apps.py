from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "contactpoint.matching"
    verbose_name = "Identity matching, review and correction"
