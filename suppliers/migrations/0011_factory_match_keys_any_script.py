"""Match keys in any script (issue 18): every factory's stored keys computed anew by the
rules of ``KEYS_VERSION`` 2 (names without kinds of business, filler and place; Chinese in
Hanyu Pinyin)."""

from django.db import migrations

MATCH_FIELDS = ["match_name", "match_name_latin", "match_address", "match_source"]


def store_match_keys(apps, schema_editor):
    from suppliers.importing.normalise import keys_source, match_keys

    Factory = apps.get_model("suppliers", "Factory")
    batch = []
    rows = Factory.objects.only("pk", "name", "name_latin", "address").order_by("pk")
    for factory in rows.iterator(chunk_size=2000):
        factory.match_name, factory.match_name_latin, factory.match_address = match_keys(
            factory.name, factory.name_latin, factory.address
        )
        factory.match_source = keys_source(factory.name, factory.name_latin, factory.address)
        batch.append(factory)
        if len(batch) >= 2000:
            Factory.objects.bulk_update(batch, MATCH_FIELDS)
            batch = []
    Factory.objects.bulk_update(batch, MATCH_FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("suppliers", "0010_import_job"),
    ]

    operations = [
        migrations.RunPython(store_match_keys, migrations.RunPython.noop, elidable=True),
    ]
