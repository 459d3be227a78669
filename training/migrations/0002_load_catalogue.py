from django.db import migrations


def load(apps, schema_editor):
    from training.catalogue import load_catalogue

    load_catalogue(apps.get_model("training", "Module"), apps.get_model("training", "KPIDefinition"))


class Migration(migrations.Migration):
    dependencies = [("training", "0001_initial")]

    # Reversing leaves the catalogue: ILO admins may have built on it.
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
