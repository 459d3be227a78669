from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners and partnerships")

    def ready(self) -> None:
        from partners import notices  # noqa: F401 (registers its kinds of notice)
        from partners.models import membership_scope_rows
        from score_portal.scope import register_scope_source

        register_scope_source("partners", membership_scope_rows)
