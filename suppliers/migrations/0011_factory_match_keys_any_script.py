"""Match keys in any script (issue 18): every factory's stored keys computed anew by the
rules of ``KEYS_VERSION`` 2 (names without kinds of business, filler and place; Chinese in
Hanyu Pinyin), by the same function as migration 0005 (it computes with the rules of the
day)."""

from importlib import import_module

from django.db import migrations

store_match_keys = import_module("suppliers.migrations.0005_factory_match_keys").store_match_keys


class Migration(migrations.Migration):
    dependencies = [
        ("suppliers", "0010_import_job"),
    ]

    operations = [
        migrations.RunPython(store_match_keys, migrations.RunPython.noop, elidable=True),
    ]
