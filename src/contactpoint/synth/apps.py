from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "contactpoint.synth"
