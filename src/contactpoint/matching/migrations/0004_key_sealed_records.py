"""Key the records of a directory older than the blocking keys, now that they can be read (sealed).

matching.0003 keys existing records, but for a directory that predates it the records are only readable
once feeds.0005 has sealed them; 0003 leaves those to this migration. Nothing to do otherwise.
"""

from django.db import migrations


def key_records_left_unkeyed(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM feeds_sourcerecord WHERE retired_at IS NULL) "
                       "AND NOT EXISTS (SELECT 1 FROM matching_blockingkeys)")
        if not cursor.fetchone()[0]:
            return
    from contactpoint.matching.blocking import rebuild_all_keys

    rebuild_all_keys()


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0005_sealed_records'),
        ('matching', '0003_blocking_keys'),
    ]

    operations = [migrations.RunPython(key_records_left_unkeyed, migrations.RunPython.noop)]
