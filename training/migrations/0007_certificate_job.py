"""Certificate rendering becomes a background job of score_portal.jobs: its claim and
attempts take the shared names (the values are kept), and the sweep's next attempt is stored."""

from django.db import migrations, models

import score_portal.jobs


class Migration(migrations.Migration):
    dependencies = [("training", "0006_enrolment_holds_place")]

    operations = [
        migrations.RenameField("certificate", "render_started_at", "claimed_at"),
        migrations.RenameField("certificate", "render_attempts", "attempts"),
        migrations.AddField(
            model_name='certificate',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, default=score_portal.jobs.soon, null=True, verbose_name='next attempt at'),
        ),
        migrations.AlterField(
            model_name='certificate',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='attempts'),
        ),
        migrations.AlterField(
            model_name='certificate',
            name='claimed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='claimed at'),
        ),
        migrations.AlterField(
            model_name='certificate',
            name='last_error',
            field=models.TextField(blank=True, verbose_name='last error'),
        ),
    ]
