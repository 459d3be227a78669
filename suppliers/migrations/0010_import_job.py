"""Supplier-list imports become background jobs of score_portal.jobs: the worker attempts
take the shared name (the values are kept), and the job's last error and next attempt are
stored."""

from django.db import migrations, models

import score_portal.jobs


class Migration(migrations.Migration):
    dependencies = [("suppliers", "0009_import_rows_repeats_found_after_storing")]

    operations = [
        migrations.RenameField("supplierimport", "worker_attempts", "attempts"),
        migrations.AddField(
            model_name='supplierimport',
            name='last_error',
            field=models.TextField(blank=True, verbose_name='last error'),
        ),
        migrations.AddField(
            model_name='supplierimport',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, default=score_portal.jobs.soon, null=True, verbose_name='next attempt at'),
        ),
        migrations.AlterField(
            model_name='supplierimport',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='attempts'),
        ),
        migrations.AlterField(
            model_name='supplierimport',
            name='claimed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='claimed at'),
        ),
    ]
