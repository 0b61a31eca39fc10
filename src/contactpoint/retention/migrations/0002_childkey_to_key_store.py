# The data keys leave the main database for the key store (contactpoint.keystore, database "keys"), so that
# a backup of the main database holds no key (docs/retention.md). Any key already stored here is copied
# there first (the key store must be migrated before the main database: `contactpoint migrate` does so),
# then the table is dropped. Reversing recreates an empty table; the keys stay in the key store.

from django.db import DatabaseError, connections, migrations, transaction


def copy_keys_to_key_store(apps, schema_editor):
    ChildKey = apps.get_model("retention", "ChildKey")
    rows = list(
        ChildKey.objects.using(schema_editor.connection.alias)
        .values_list("child_id", "wrapped_key", "wrapped_by", "created_at")
    )
    if not rows:
        return
    try:
        with transaction.atomic(using="keys"), connections["keys"].cursor() as cursor:
            cursor.executemany(
                "INSERT INTO keystore_datakey (child_id, wrapped_key, wrapped_by, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (child_id) DO NOTHING",
                [(child_id, bytes(wrapped), by, created) for child_id, wrapped, by, created in rows],
            )
    except DatabaseError as error:
        raise RuntimeError(
            f"{len(rows)} data keys must move to the key store, which is not ready ({error}): "
            "run `contactpoint migrate` (it migrates the key store first)"
        ) from error


class Migration(migrations.Migration):

    dependencies = [
        ('keystore', '0001_initial'),
        ('retention', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(copy_keys_to_key_store, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(
            name='ChildKey',
        ),
    ]
