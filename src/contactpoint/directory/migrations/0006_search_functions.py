"""SQL for the search index: name folding, and the nickname table as rows.

``cp_search_fold(text)`` turns a name as any source or practitioner typed it into upper-case ASCII
letters separated by single spaces: accents are stripped (Zoë → ZOE, Łukasz → LUKASZ, ß → SS),
apostrophes and full stops dropped (O'Brien → OBRIEN), every other run of non-letters becomes one space
(Smith-Jones → SMITH JONES). It is IMMUTABLE and needs no extension beyond fuzzystrmatch (for
``dmetaphone``), and both the index (identity.rebuild_golden_records) and queries
(identity.search_query_keys) use it, so the two always agree.
"""

from django.db import migrations

FOLD_FROM = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåçèéêëìíîïðñòóôõöøùúûüýþÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľĿŀŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
FOLD_TO = "AAAAAACEEEEIIIIDNOOOOOOUUUUYTaaaaaaceeeeiiiidnoooooouuuuytyAaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjKkLlLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"

CREATE_FOLD = f"""
CREATE OR REPLACE FUNCTION cp_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT btrim(regexp_replace(regexp_replace(upper(translate(
      replace(replace(replace(replace(replace(replace(value, 'ß', 'SS'), 'ẞ', 'SS'), 'Æ', 'AE'), 'æ', 'AE'),
              'Œ', 'OE'), 'œ', 'OE'),
      '{FOLD_FROM}', '{FOLD_TO}')), '[''’`.]', '', 'g'), '[^A-Z]+', ' ', 'g'))
$$
"""


def fill_forenames(apps, schema_editor):
    from contactpoint.core.forenames import forename_pairs

    Forename = apps.get_model("directory", "Forename")
    Forename.objects.all().delete()
    Forename.objects.bulk_create(Forename(name=name, canonical=canonical) for name, canonical in forename_pairs())


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_extensions"),
        ("directory", "0005_search_index"),
    ]

    operations = [
        migrations.RunSQL(CREATE_FOLD, "DROP FUNCTION IF EXISTS cp_search_fold(text)"),
        migrations.RunPython(fill_forenames, migrations.RunPython.noop),
    ]
