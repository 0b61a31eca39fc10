from django.apps import AppConfig


class SubjectAccessConfig(AppConfig):
    name = "contactpoint.subject_access"
    verbose_name = "Subject access: what is held about a child and who has looked at it"
