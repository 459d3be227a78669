"""What each chart draws, as plain data for ``json_script`` (static/js/charts.js draws it),
with the one-sentence summary a screen reader (and a printed page) reads instead.

A chart: ``{"kind": "bar", "horizontal": bool, "stacked": bool, "percent": bool,
"categories": [...], "series": [{"name": ..., "values": [...]}], "summary": ...}``.
Labels are translated here; numbers are formatted by the browser in the page's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.template.defaultfilters import date as date_format
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries

from reporting.figures import Coverage, KPIChange, Month, Participants, Stage, share
from score_portal.templatetags.portal_format import percent
from training.models import Participant


def _n(value: int | float) -> str:
    return number_format(value, force_grouping=True)


def _chart(
    categories: list[str], series: list[dict[str, Any]], summary: str, **options: Any
) -> dict[str, Any]:
    chart = {"kind": "bar", "horizontal": False, "stacked": False, "percent": False}
    chart.update(options)
    chart.update({"categories": categories, "series": series, "summary": summary})
    return chart


def funnel(stages: Sequence[Stage]) -> dict[str, Any]:
    counts = {stage.key: stage.count for stage in stages}
    summary = _(
        "Of %(enrolled)s enrolments, %(confirmed)s were confirmed by the factory, %(started)s "
        "started training and %(completed)s completed; %(declined)s were declined and "
        "%(withdrawn)s withdrawn."
    ) % {key: _n(value) for key, value in counts.items()}
    return _chart(
        [stage.label for stage in stages],
        [{"name": _("Enrolments"), "values": [stage.count for stage in stages]}],
        summary,
        horizontal=True,
    )


def completions(months: Sequence[Month]) -> dict[str, Any]:
    total = sum(month.count for month in months)
    if months:
        busiest = max(months, key=lambda m: m.count)
        summary = ngettext(
            "%(total)s enrolment completed between %(first)s and %(last)s; the most in "
            "%(busiest)s (%(most)s).",
            "%(total)s enrolments completed between %(first)s and %(last)s; the most in "
            "%(busiest)s (%(most)s).",
            total,
        ) % {
            "total": _n(total),
            "first": date_format(months[0].first_day, "YEAR_MONTH_FORMAT"),
            "last": date_format(months[-1].first_day, "YEAR_MONTH_FORMAT"),
            "busiest": date_format(busiest.first_day, "YEAR_MONTH_FORMAT"),
            "most": _n(busiest.count),
        }
    else:
        summary = _("No enrolment completed.")
    return _chart(
        [date_format(month.first_day, "YEAR_MONTH_FORMAT") for month in months],
        [{"name": _("Completions"), "values": [month.count for month in months]}],
        summary,
    )


def participants(people: Participants) -> dict[str, Any]:
    genders = Participant.Gender.choices
    summary = _(
        "%(total)s participants: %(women)s women (%(share_women)s) and %(workers)s workers "
        "(%(share_workers)s)."
    ) % {
        "total": _n(people.total),
        "women": _n(people.women),
        "share_women": percent(people.share_women),
        "workers": _n(people.workers),
        "share_workers": percent(people.share_workers),
    }
    return _chart(
        [str(label) for _role, label in Participant.Role.choices],
        [
            {
                "name": str(label),
                "values": [
                    people.count(role=role, gender=gender) for role, _l in Participant.Role.choices
                ],
            }
            for gender, label in genders
        ],
        summary,
        horizontal=True,
        stacked=True,
    )


def kpi_improved(kpis: Sequence[KPIChange]) -> dict[str, Any]:
    shown = [item for item in kpis if item.spread.paired]
    if shown:
        best = max(shown, key=lambda item: item.spread.share_improved or 0)
        summary = _(
            "Across %(count)s KPIs with baseline and follow-up, the share of factories that "
            "improved was highest for %(kpi)s (%(share)s)."
        ) % {
            "count": _n(len(shown)),
            "kpi": best.kpi.display_name,
            "share": percent(best.spread.share_improved),
        }
    else:
        summary = _("No factory has both a baseline and a follow-up reading yet.")
    return _chart(
        [item.kpi.display_name for item in shown],
        [
            {
                "name": _("Factories that improved"),
                "values": [item.spread.share_improved for item in shown],
            }
        ],
        summary,
        horizontal=True,
        percent=True,
    )


def coverage(rows: Sequence[Coverage]) -> dict[str, Any]:
    listed = sum(row.listed for row in rows)
    enrolled = sum(row.enrolled for row in rows)
    completed = sum(row.completed for row in rows)
    summary = _(
        "Of %(listed)s suppliers on the list, %(enrolled)s (%(share_enrolled)s) have a place "
        "in training and %(completed)s (%(share_completed)s) completed a module."
    ) % {
        "listed": _n(listed),
        "enrolled": _n(enrolled),
        "share_enrolled": percent(share(enrolled, listed)),
        "completed": _n(completed),
        "share_completed": percent(share(completed, listed)),
    }
    return _chart(
        [country_name(row.country) for row in rows],
        [
            {"name": _("Enrolled"), "values": [row.share_enrolled for row in rows]},
            {"name": _("Completed"), "values": [row.share_completed for row in rows]},
        ],
        summary,
        horizontal=True,
        percent=True,
    )


def country_name(code: str) -> str:
    return str(countries.name(code)) or code
