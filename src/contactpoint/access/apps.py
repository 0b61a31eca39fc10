from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "contactpoint.access"
    verbose_name = "Users, roles and access policy"
