from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "contactpoint.retention"
    label = "retention"
    verbose_name = "Retention and erasure"
