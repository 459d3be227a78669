from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    """One search box across factories, enrolments, cohorts, partnerships and certificates,
    within the person's scope. Reads every app through its querysets; no app imports it."""

    name = "search"
    verbose_name = _("Search")
