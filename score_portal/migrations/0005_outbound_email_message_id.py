"""A Message-ID on every outbox row, kept for every attempt to send it.

Existing rows get an empty one first (a callable default would be evaluated once and give
them all the same), then each row not yet sent gets its own; sent rows keep none."""

from django.db import migrations, models

import score_portal.models


def give_unsent_rows_a_message_id(apps, schema_editor):
    OutboundEmail = apps.get_model("score_portal", "OutboundEmail")
    unsent = OutboundEmail.objects.exclude(status="sent").filter(message_id="")
    for pk in unsent.values_list("pk", flat=True).iterator():
        OutboundEmail.objects.filter(pk=pk).update(
            message_id=score_portal.models.new_message_id()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("score_portal", "0004_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(default="", max_length=255, verbose_name="Message-ID"),
            preserve_default=False,
        ),
        migrations.RunPython(give_unsent_rows_a_message_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(
                default=score_portal.models.new_message_id,
                max_length=255,
                verbose_name="Message-ID",
            ),
        ),
    ]
