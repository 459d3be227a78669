"""The search box's key on every factory (``normalise.search_key``), and on PostgreSQL the
pg_trgm extension with a GIN trigram index on it: ``LIKE '%huamei%'`` and trigram
similarity read the index instead of every factory."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


def store_search_keys(apps, schema_editor):
    from suppliers.importing.normalise import search_key

    Factory = apps.get_model("suppliers", "Factory")
    batch = []
    for factory in Factory.objects.only("pk", "name", "name_latin").order_by("pk").iterator(2000):
        factory.search_key = search_key(factory.name, factory.name_latin)
        batch.append(factory)
        if len(batch) >= 2000:
            Factory.objects.bulk_update(batch, ["search_key"])
            batch = []
    Factory.objects.bulk_update(batch, ["search_key"])


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS factory_search_key_trgm ON suppliers_factory "
            "USING gin (search_key gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS factory_search_key_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("suppliers", "0014_factory_merges"),
    ]

    operations = [
        # Does nothing on SQLite (Django's CreateExtension runs on PostgreSQL only).
        TrigramExtension(),
        migrations.AddField(
            model_name="factory",
            name="search_key",
            field=models.TextField(
                blank=True, db_default="", default="", editable=False, verbose_name="search key"
            ),
        ),
        migrations.RunPython(store_search_keys, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
