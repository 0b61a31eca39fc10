"""Seal the golden records, names, addresses and carers; drop their clear columns and the clear search index.

Decision 5. Everything these tables held in clear is derived from the source records (sealed by
feeds.0005): the golden record, names and addresses are rebuilt from them and sealed under a data key per
child, and the carers re-made from the carer each record reports, sealed under the record's key. The
clear search index (``directory_searchname``) goes; the token index is rebuilt with the golden records.
"""

from django.db import migrations, models

BATCH = 20_000


def rebuild_sealed_identity(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM directory_child)")
        if not cursor.fetchone()[0]:
            return
    from contactpoint.core.sealing import open_sealed
    from contactpoint.directory import identity
    from contactpoint.keystore import datakeys

    with schema_editor.connection.cursor() as cursor:
        last = 0
        while True:
            cursor.execute("SELECT id FROM directory_child WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH])
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                break
            identity.rebuild_golden_records(ids)
            last = ids[-1]
        last = 0
        while True:
            cursor.execute(
                "SELECT id, child_id, sealed FROM feeds_sourcerecord WHERE id > %s AND retired_at IS NULL "
                "AND child_id IS NOT NULL ORDER BY id LIMIT %s", [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                break
            keys = datakeys.fetch_record_keys(record_ids=[row[0] for row in rows])
            carers = []
            for record_id, child_id, blob in rows:
                carer = open_sealed(keys[record_id], blob, table=identity.RECORD_TABLE, owner_id=record_id)["carer"]
                if carer:
                    carers.append((child_id, record_id, carer.get("relationship", ""),
                                   identity.seal_carer(keys[record_id], record_id, carer)))
            cursor.executemany("INSERT INTO directory_carer (child_id, source_record_id, relationship, sealed) "
                               "VALUES (%s, %s, %s, %s)", carers)
            last = rows[-1][0]
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0009_search_tokens'),
        ('feeds', '0005_sealed_records'),
    ]

    operations = [
        # Derived rows: rebuilt sealed below, from the (sealed) source records.
        migrations.RunSQL("DELETE FROM directory_childname; DELETE FROM directory_childaddress; "
                          "DELETE FROM directory_carer; DELETE FROM directory_searchtoken; "
                          # fire the deferred foreign-key checks now: ALTER TABLE refuses pending ones
                          "SET CONSTRAINTS ALL IMMEDIATE",
                          migrations.RunSQL.noop),
        migrations.RemoveConstraint(model_name='childname', name='child_name_once'),
        migrations.RemoveConstraint(model_name='childaddress', name='child_address_once'),
        migrations.RemoveIndex(model_name='childaddress', name='childaddress_postcode'),
        migrations.RemoveIndex(model_name='child', name='child_nhs_number'),
        migrations.RemoveIndex(model_name='child', name='child_upn'),
        *[migrations.RemoveField(model_name='child', name=name)
          for name in ('given_names', 'family_name', 'address_line_1', 'address_line_2', 'town', 'postcode',
                       'nhs_number', 'upn')],
        *[migrations.RemoveField(model_name='childname', name=name) for name in ('given_names', 'family_name')],
        *[migrations.RemoveField(model_name='childaddress', name=name)
          for name in ('address_line_1', 'address_line_2', 'town', 'postcode')],
        *[migrations.RemoveField(model_name='carer', name=name)
          for name in ('given_names', 'family_name', 'phone', 'email')],
        migrations.AddField(model_name='child', name='sealed', field=models.BinaryField(null=True)),
        *[migrations.AddField(model_name=model, name=name, field=models.BinaryField(default=b''),
                              preserve_default=False)
          for model in ('childname', 'childaddress') for name in ('sealed', 'digest')],
        migrations.AddField(model_name='carer', name='sealed', field=models.BinaryField(default=b''),
                            preserve_default=False),
        migrations.AlterField(
            model_name='carer', name='source_record',
            field=models.ForeignKey(on_delete=models.deletion.CASCADE, to='feeds.sourcerecord'),
        ),
        migrations.AddConstraint(
            model_name='childname',
            constraint=models.UniqueConstraint(fields=('child', 'digest'), name='child_name_once'),
        ),
        migrations.AddConstraint(
            model_name='childaddress',
            constraint=models.UniqueConstraint(fields=('child', 'digest'), name='child_address_once'),
        ),
        migrations.DeleteModel(name='SearchName'),
        migrations.RunPython(rebuild_sealed_identity, migrations.RunPython.noop),
    ]
