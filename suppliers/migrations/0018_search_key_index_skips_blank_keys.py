"""The search box's trigram index holds only factories with a search key. An import creates
its factories with a blank key (a task fills the keys after its commit), and GIN keeps an
entry even for a blank one: 100,000 new factories cost the import's transaction as many
entries that no search can find. The searches ask for ``search_key <> ''`` and use it."""

from django.db import migrations


def partial_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS factory_search_key_trgm")
        schema_editor.execute(
            "CREATE INDEX factory_search_key_trgm ON suppliers_factory "
            "USING gin (search_key gin_trgm_ops) WHERE search_key <> ''"
        )


def whole_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS factory_search_key_trgm")
        schema_editor.execute(
            "CREATE INDEX factory_search_key_trgm ON suppliers_factory "
            "USING gin (search_key gin_trgm_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("suppliers", "0017_import_writes_fewer_index_entries"),
    ]

    operations = [migrations.RunPython(partial_index, whole_index)]
