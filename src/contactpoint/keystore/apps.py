from django.apps import AppConfig


class KeystoreConfig(AppConfig):
    name = "contactpoint.keystore"
    label = "keystore"
    verbose_name = "Key store (per-child data keys, in a database of its own)"
