"""Sends the key store's models to the database ``keys``, and nothing else there.

Reads, writes and migrations of the ``keystore`` app go to ``keys``; every other app's tables are never
created there, and the key store's table is never created in the main database. Listed in
``settings.DATABASE_ROUTERS``.
"""

from __future__ import annotations

from typing import Any

KEYS_DATABASE = "keys"
APP_LABEL = "keystore"


class KeyStoreRouter:
    def _is_key_store(self, model: Any) -> bool:
        return bool(model._meta.app_label == APP_LABEL)

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return KEYS_DATABASE if self._is_key_store(model) else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return KEYS_DATABASE if self._is_key_store(model) else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # No relation crosses the two databases (a key refers to its child by number only).
        if self._is_key_store(obj1) != self._is_key_store(obj2):
            return False
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if app_label == APP_LABEL:
            return db == KEYS_DATABASE
        if db == KEYS_DATABASE:
            return False
        return None
