from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScorePortalConfig(AppConfig):
    name = "score_portal"
    verbose_name = _("Accounts and platform")

    def ready(self) -> None:
        from score_portal import (
            checks,  # noqa: F401  (registers the deployment checks)
            lookups,  # noqa: F401  (registers field__any_of)
        )
