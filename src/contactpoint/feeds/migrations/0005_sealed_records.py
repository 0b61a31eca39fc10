"""Seal the identifying fields of every source record under a key of its own, then drop the clear columns.

Decision 5: names, address, identifiers, carer and involvement become one AES-GCM blob per record
(``sealed``), under a data key per record in the key store (which ``contactpoint migrate`` migrates first).
The change-detection hash becomes keyed. Existing records are sealed in batches; a record that already has
a key (a re-run after a failure) keeps it. Nothing to do on a new directory.
"""

import hashlib
import hmac
import json

from django.db import migrations, models

BATCH = 20_000
CLEAR = ("given_names", "family_name", "former_family_names", "address_line_1", "address_line_2", "town",
         "postcode", "nhs_number", "upn")
# The feed's columns in the order the content hash joins them (feeds.format.FEED_FIELDS when this was written).
FEED_ORDER = ("source_record_id", "given_names", "family_name", "former_family_names", "date_of_birth", "sex",
              "address_line_1", "address_line_2", "town", "postcode", "nhs_number", "upn", "local_authority",
              "retention_condition", "carer_given_names", "carer_family_name", "carer_relationship", "carer_phone",
              "carer_email", "service_type", "organisation_code", "organisation_name", "practitioner_name",
              "practitioner_role", "practitioner_phone", "practitioner_email", "involvement_start", "involvement_end",
              "consent_recorded")
CARER = {"carer_given_names": "given_names", "carer_family_name": "family_name", "carer_relationship": "relationship",
         "carer_phone": "phone", "carer_email": "email"}


def seal_existing_records(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM feeds_sourcerecord)")
        if not cursor.fetchone()[0]:
            return
    from contactpoint.core.sealing import content_hash_key
    from contactpoint.directory.identity import seal_record
    from contactpoint.keystore import datakeys

    hash_key = content_hash_key()
    last = 0
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, source_record_id, {', '.join(CLEAR)}, date_of_birth, sex, local_authority, "
                "retention_condition, carer_details, involvement_details FROM feeds_sourcerecord "
                "WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                break
            ids = [row[0] for row in rows]
            keys = datakeys.fetch_record_keys(record_ids=ids)
            keys.update(datakeys.create_record_keys(record_ids=[i for i in ids if i not in keys]))
            sealed = []
            for record_id, srid, *values in rows:
                clear = dict(zip(CLEAR, values[:len(CLEAR)], strict=True))
                dob, sex, la, condition, carer, involvement = values[len(CLEAR):]
                # jsonb comes back from a raw cursor as text (Django decodes it only for model fields).
                carer, involvement = (json.loads(v) if isinstance(v, str) else (v or {}) for v in (carer, involvement))
                fields = {**clear, "carer": carer, "involvement": involvement}
                feed = {**clear, "source_record_id": srid, "date_of_birth": dob.isoformat() if dob else "",
                        "sex": sex, "local_authority": la, "retention_condition": condition,
                        **{column: str(carer.get(key, "")) for column, key in CARER.items()},
                        **{name: str(involvement.get(name, "")) for name in FEED_ORDER[19:]}}
                digest = hmac.new(hash_key, "\x1f".join(feed[name] for name in FEED_ORDER).encode(),
                                  hashlib.sha256).hexdigest()
                sealed.append((seal_record(keys[record_id], record_id, fields), digest, record_id))
            cursor.executemany("UPDATE feeds_sourcerecord SET sealed = %s, content_hash = %s WHERE id = %s", sealed)
            last = ids[-1]
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE (below) refuses pending trigger events


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0004_covering_child_indexes'),
        ('keystore', '0002_record_keys'),
        ('matching', '0003_blocking_keys'),
    ]

    operations = [
        migrations.AddField(model_name='sourcerecord', name='sealed', field=models.BinaryField(null=True)),
        migrations.RunPython(seal_existing_records, migrations.RunPython.noop),
        *[migrations.RemoveField(model_name='sourcerecord', name=name)
          for name in (*CLEAR, 'carer_details', 'involvement_details')],
        migrations.AlterField(model_name='sourcerecord', name='sealed', field=models.BinaryField()),
        migrations.AlterField(
            model_name='sourcerecord', name='content_hash',
            field=models.CharField(help_text='keyed hash of the normalised row: detects change', max_length=64),
        ),
    ]
