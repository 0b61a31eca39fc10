from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "contactpoint.directory"
    verbose_name = "The directory: children, carers, practitioners and involvements"
