from django.contrib.postgres.operations import CreateExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Trigram similarity and phonetic codes for practitioner search."""

    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [CreateExtension("pg_trgm"), CreateExtension("fuzzystrmatch")]
