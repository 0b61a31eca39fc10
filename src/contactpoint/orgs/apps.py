from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "contactpoint.orgs"
    verbose_name = "Local authorities and organisations"
