"""Rules about cohorts that forms and services both ask: one place for each rule.

Pure functions of the rows given (no writes): a form shows their answers beside its fields
before anything is saved; the services check them again inside their transaction.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries

from suppliers.models import Factory
from training.models import Cohort

# The usual languages of a country's factory floors, among the languages the portal speaks
# (settings.LANGUAGES). A factory is taken to follow these and its own ``Factory.language``
# (the language of its emails and certificates); a cohort taught in any other language, or
# held in another country, takes a factory only with a recorded reason. A country missing
# here has no usual language the portal speaks: only the factory's own counts.
COUNTRY_LANGUAGES: dict[str, frozenset[str]] = {
    "CN": frozenset({"zh-hans"}),
    "TR": frozenset({"tr"}),
    "VN": frozenset({"vi"}),
    "BD": frozenset({"bn"}),
    **{
        code: frozenset({"es"})
        for code in (
            "ES AR BO CL CO CR DO EC GT HN MX NI PA PE PY SV UY VE".split()  # noqa: SIM905
        )
    },
    **{
        code: frozenset({"en"})
        for code in ("GB US IE IN PK LK GH NG KE ZA MU ET".split())  # noqa: SIM905
    },
}


# What a cohort's form edits and ``update_cohort`` may change (the provider is fixed).
COHORT_FIELDS = (
    "module",
    "trainer",
    "venue_city",
    "venue_country",
    "language",
    "classroom_start",
    "classroom_end",
    "capacity",
)


def factory_languages(factory: Factory) -> frozenset[str]:
    """The languages a factory's people follow: its own, and its country's usual ones."""
    return frozenset({factory.language}) | COUNTRY_LANGUAGES.get(str(factory.country), frozenset())


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def placement_mismatch(factory: Factory, cohort: Cohort) -> str:
    """Why ``cohort`` is not local to ``factory`` (another country, a language the factory
    does not use), in words; empty when it is. A cohort is local: an exception needs a
    recorded reason."""
    problems = []
    if str(factory.country) != str(cohort.venue_country):
        problems.append(
            _("%(factory)s is in %(country)s; the cohort is in %(venue)s.")
            % {
                "factory": factory.name,
                "country": countries.name(factory.country) or factory.country,
                "venue": countries.name(cohort.venue_country) or cohort.venue_country,
            }
        )
    if cohort.language not in factory_languages(factory):
        problems.append(
            _("%(factory)s uses %(languages)s; the cohort is taught in %(language)s.")
            % {
                "factory": factory.name,
                "languages": ", ".join(
                    sorted(language_name(code) for code in factory_languages(factory))
                ),
                "language": language_name(cohort.language),
            }
        )
    return " ".join(problems)


def cohort_refusals(
    *,
    classroom_start: datetime.date | None,
    classroom_end: datetime.date | None,
    capacity: int | None,
    taken: int = 0,
) -> dict[str, str]:
    """What is wrong with a cohort's dates and capacity, by form field (empty: nothing).

    ``taken``: the places its enrolments already hold (editing a cohort)."""
    refusals: dict[str, str] = {}
    if classroom_start and classroom_end and classroom_end < classroom_start:
        refusals["classroom_end"] = _(
            "The classroom cannot end (%(end)s) before it starts (%(start)s)."
        ) % {
            "end": date_format(classroom_end, "DATE_FORMAT"),
            "start": date_format(classroom_start, "DATE_FORMAT"),
        }
    if capacity is not None:
        if capacity < 1:
            refusals["capacity"] = _("A cohort needs room for at least one enterprise.")
        elif capacity < taken:
            refusals["capacity"] = ngettext(
                "%(taken)s enterprise already holds a place: the capacity cannot be less.",
                "%(taken)s enterprises already hold a place: the capacity cannot be less.",
                taken,
            ) % {"taken": taken}
    return refusals


def places_taken(cohort: Cohort) -> int:
    """Enterprises holding a place in the cohort (its active enrolments)."""
    return cohort.enrolments.filter(holds_place=True).count()
