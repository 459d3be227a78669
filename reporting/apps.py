from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    """Programme results: dashboards, partnership reports and exports. Reads every app
    through its selectors; no app imports it."""

    name = "reporting"
    verbose_name = _("Programme results")

    def ready(self) -> None:
        from reporting import notices  # noqa: F401 (registers its kind of notice)
