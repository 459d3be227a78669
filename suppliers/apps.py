from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliersConfig(AppConfig):
    name = "suppliers"
    verbose_name = _("Suppliers")

    def ready(self) -> None:
        from score_portal.scope import register_scope_source
        from suppliers import notices  # noqa: F401 (registers its kinds of notice)
        from suppliers.models import managed_factory_scope_rows

        register_scope_source("suppliers", managed_factory_scope_rows)
