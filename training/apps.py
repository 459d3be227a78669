from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Training")

    def ready(self) -> None:
        from score_portal.scope import register_scope_source
        from suppliers.merging import register_merge_hook
        from training import notices, record_checks, signals  # noqa: F401 (registers them)
        from training.merging import merge_training_rows
        from training.models import trained_cohort_scope_rows

        register_scope_source("training", trained_cohort_scope_rows)
        # Merging two factory records moves training's rows too (suppliers cannot import us).
        register_merge_hook(merge_training_rows)
        signals.connect()
