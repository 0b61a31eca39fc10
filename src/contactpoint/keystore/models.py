"""The key store: each child's and each source record's data key, wrapped by the master key, in a database
of its own.

The tables live in the database ``keys`` (:mod:`contactpoint.keystore.router`), never in the main
database, so a backup of the main database holds no key: erasing a child here makes its ciphertext in
every backup of the main database unreadable (docs/retention.md). The child or record is therefore a plain
number, not a foreign key: a reference cannot cross databases.
"""

from __future__ import annotations

from django.db import models


class DataKey(models.Model):
    """A child's data key (AES-256-GCM), wrapped by the master key. Deleting the row destroys the key."""

    # directory.Child's primary key (the key is bound to it when wrapped: it cannot be moved to another child).
    child_id = models.BigIntegerField(primary_key=True)
    wrapped_key = models.BinaryField()
    # Which wrapper (and which master key) wrapped it: "local:<key id>" or "vault:<key name>".
    wrapped_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)


class RecordKey(models.Model):
    """A source record's data key (decision 5: a record keeps its key when corrections move it between
    children, so merges, splits and undos never re-encrypt). Erasing a child destroys its records' keys."""

    # feeds.SourceRecord's primary key (bound in when wrapped).
    record_id = models.BigIntegerField(primary_key=True)
    wrapped_key = models.BinaryField()
    wrapped_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
