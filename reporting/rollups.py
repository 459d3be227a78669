"""The results dashboards' figures, kept for a stated time (README, "Programme results at scale").

At programme scale (50,000 factories, 200,000 enrolments, 2,000,000 KPI readings) a
dashboard's figures take seconds to count: every one is an aggregate over the whole
programme or a brand's whole portfolio. They change slowly and nobody needs them to the
second, so they are counted once and kept in the cache as a ``Snapshot`` (the figures and the
time they were counted) for ``freshness()`` (RESULTS_FRESHNESS_SECONDS, 10 minutes by
default); the page says when its figures were counted. The ``refresh_results`` beat task
counts the unfiltered views again every half of that time, so they never expire in front
of a reader; a filtered view is counted on its first request and kept as long.

What a snapshot may hold, and who may read it back:

- The key is the dashboard, the brand, the reader's reach and the filters (only the
  enrolment list's own, normalised), so a snapshot is only ever read by someone who would
  have counted the very same figures: the programme's by those who see everything, a
  brand's by the ILO and that brand's own people (``access.sees_whole_portfolio``); anyone
  else's figures are counted for them alone and never kept.
- A brand's KPI results obey the privacy rule when counted (``figures.brand_kpi_results``),
  and the key carries a mark of the brand's KPI consents: a factory that withdraws its
  consent changes the mark, so no kept figure goes on showing what it no longer shares.
- A snapshot holds numbers, codes and catalogue rows, never translated text: the same one
  serves every language (the funnel's labels are put back in the reader's language).
- Without Redis the cache is the process's own (``score_portal.cache``): the pages still
  work, each process counting its own figures once per period.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html

from partners.models import Partner, Partnership
from reporting import figures, reports
from score_portal import access
from score_portal.scope import FUNDING_KINDS, Scope
from training.impact import Figure
from training.models import Enrolment, KPIConsent

PROGRAMME = "programme"
PORTFOLIO = "portfolio"
REPORT = "report"
# Partnerships whose report preview beat keeps warm: those that run (or paused for a while).
REPORTED_STATUSES = (Partnership.Status.APPROVED, Partnership.Status.SUSPENDED)
KEY_VERSION = 1  # raise when a snapshot's contents change shape
REPORT_PAGE_SIZE = 50  # factories per page of a report preview
# A report preview is kept warm by beat while someone read it in the last hour: counting
# every partnership's report takes minutes at programme scale, most are seldom read.
READ_SECONDS = 60 * 60


def freshness() -> datetime.timedelta:
    """How old a dashboard's figures may be."""
    return datetime.timedelta(seconds=settings.RESULTS_FRESHNESS_SECONDS)


@dataclass(frozen=True)
class Snapshot:
    """A dashboard's figures and when they were counted."""

    computed_at: datetime.datetime
    figures: dict[str, Any]
    key: str | None = None  # None: counted for one reader alone, never kept

    @property
    def fragment_key(self) -> str:
        """For the page's rendered figures (``{% cache %}``, with the language): the same
        readers as the snapshot, and a new one with every count. Empty: render afresh."""
        return f"{self.key}:{self.computed_at.timestamp()}" if self.key else ""

    @property
    def refreshed_every_minutes(self) -> int:
        return max(1, round(freshness().total_seconds() / 60))


def figures_as_of(snapshot: Snapshot) -> dict[str, Any]:
    """When the figures were counted, for a page to say (in the reader's time zone)."""
    when = timezone.localtime(snapshot.computed_at)
    return {
        "figures_as_of": snapshot.computed_at,
        "figures_as_of_html": format_html(
            '<time datetime="{}">{}</time>',
            when.isoformat(timespec="seconds"),
            date_format(when, "DATETIME_FORMAT"),
        ),
        "figures_every": snapshot.refreshed_every_minutes,
        "fragment_key": snapshot.fragment_key,
        "fragment_seconds": int(freshness().total_seconds()),
    }


def normalised_filters(query: Mapping[str, Any], names: list[str]) -> dict[str, list[str]]:
    """The filters of ``names`` present in ``query`` (a QueryDict or a plain dict), with
    their values sorted, so that the same filters in another order share a snapshot."""
    found: dict[str, list[str]] = {}
    for name in sorted(names):
        values = query.getlist(name) if hasattr(query, "getlist") else [query.get(name)]
        values = sorted(str(v) for v in values if v not in (None, ""))
        if values:
            found[name] = values
    return found


def consent_mark(brand_id: int) -> str:
    """A mark that changes whenever a factory gives or withdraws its KPI consent to the brand
    (withdrawing deletes the row: the count and the sum of ids change)."""
    row = KPIConsent.objects.filter(partner_id=brand_id).aggregate(
        n=Count("pk"), ids=Sum("pk"), last=Max("given_at")
    )
    last = row["last"].isoformat() if row["last"] else ""
    return f"{row['n']}:{row['ids'] or 0}:{last}"


def cache_key(dashboard: str, **parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"results:{KEY_VERSION}:{dashboard}:{digest[:40]}"


def programme_key(filters: dict[str, list[str]]) -> str:
    return cache_key(PROGRAMME, reach="everything", filters=filters)


def portfolio_key(brand_id: int, filters: dict[str, list[str]]) -> str:
    return cache_key(
        PORTFOLIO,
        brand=brand_id,
        reach="whole-portfolio",
        filters=filters,
        consent=consent_mark(brand_id),
    )


def kept(
    key: str | None,
    count: Callable[[], dict[str, Any]],
    *,
    now: datetime.datetime | None = None,
    refresh: bool = False,
) -> Snapshot:
    """The snapshot under ``key`` if it is younger than ``freshness()``, else the figures
    counted now (and kept, unless ``key`` is None: figures for one reader alone)."""
    now = now or timezone.now()
    if key is not None and not refresh:
        found = cache.get(key)
        if isinstance(found, Snapshot) and now - found.computed_at < freshness():
            return found
    snapshot = Snapshot(computed_at=now, figures=count(), key=key)
    if key is not None:
        # Kept a little beyond the freshness so the age test above, not Redis, decides.
        cache.set(key, snapshot, timeout=int(freshness().total_seconds()) + 60)
    return snapshot


# --- What is counted ---------------------------------------------------------------------------


def common_figures(
    enrolments: QuerySet[Enrolment], *, partner_id: int | None = None
) -> dict[str, Any]:
    """``partner_id``: the brand (or chosen funding partner) whose shares of co-funded places
    the cost counts (README, "Co-funding")."""
    return {
        "stages": figures.funnel(enrolments),
        "months": figures.completions_per_month(enrolments),
        "participants": figures.participants(enrolments),
        "factories_reached": figures.factories_reached(enrolments),
        "workforce": figures.workforce(enrolments),
        "active_trainers": figures.active_trainers(enrolments),
        "costs": figures.costs(enrolments, partner_id=partner_id),
    }


def programme_figures(
    enrolments: QuerySet[Enrolment], *, partner_id: int | None = None
) -> dict[str, Any]:
    return {
        **common_figures(enrolments, partner_id=partner_id),
        "kpis": figures.kpi_changes(enrolments),
    }


def portfolio_figures(
    *, brand_id: int, enrolments: QuerySet[Enrolment], country: str
) -> dict[str, Any]:
    return {
        **common_figures(enrolments, partner_id=brand_id),
        "coverage": figures.supplier_coverage(
            brand_id=brand_id, enrolments=enrolments, country=country
        ),
        "brand_kpis": figures.brand_kpi_results(brand_id=brand_id),
    }


def programme(
    enrolments: Callable[[], QuerySet[Enrolment]],
    scope: Scope,
    filters: dict[str, list[str]],
    *,
    partner_id: int | None = None,
    now: datetime.datetime | None = None,
) -> Snapshot:
    """The programme dashboard's figures over ``enrolments()`` (what ``scope`` sees, filtered,
    built only when counted; ``partner_id``, the funding partner chosen in ``filters``, whose
    shares the cost counts)."""
    key = programme_key(filters) if scope.sees_everything else None
    return kept(key, lambda: programme_figures(enrolments(), partner_id=partner_id), now=now)


def portfolio(
    enrolments: Callable[[], QuerySet[Enrolment]],
    scope: Scope,
    *,
    brand_id: int,
    country: str,
    filters: dict[str, list[str]],
    now: datetime.datetime | None = None,
) -> Snapshot:
    """A brand's portfolio figures over ``enrolments()`` (what ``scope`` sees of the brand's
    funding, filtered, built only when counted); kept only for readers who see the whole
    portfolio."""
    whole = access.sees_whole_portfolio(scope, brand_id)
    key = portfolio_key(brand_id, filters) if whole else None
    return kept(
        key,
        lambda: portfolio_figures(brand_id=brand_id, enrolments=enrolments(), country=country),
        now=now,
    )


_funnel_labels: dict[str, dict[str, str]] = {}  # per language, per process


def in_language(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot's figures with the funnel's labels in the active language (the labels are
    the figures module's own: an empty funnel costs no query)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    labels = _funnel_labels.get(language)
    if labels is None:
        labels = {stage.key: stage.label for stage in figures.funnel(Enrolment.objects.none())}
        _funnel_labels[language] = labels
    result = dict(snapshot.figures)
    result["stages"] = [
        dataclasses.replace(stage, label=labels.get(stage.key, stage.label))
        for stage in snapshot.figures["stages"]
    ]
    return result


# --- A partnership's report, previewed on its page ---------------------------------------------


def report_key(partnership: Partnership, start: datetime.date, end: datetime.date) -> str:
    """A report's data holds labels in the reader's language (statuses, modules, countries):
    one snapshot per language. Whoever may report on the partnership reads the same data
    (``reports.gather`` depends on the partnership and period alone)."""
    return cache_key(
        REPORT,
        partnership=partnership.pk,
        start=start.isoformat(),
        end=end.isoformat(),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        consent=consent_mark(partnership.partner_id),
    )


def report(
    partnership: Partnership,
    start: datetime.date,
    end: datetime.date,
    *,
    now: datetime.datetime | None = None,
    refresh: bool = False,
) -> Snapshot:
    """``reports.gather`` for the period, kept as the dashboards' figures are. The per-factory
    table (thousands of rows at scale) is kept apart by pages of ``REPORT_PAGE_SIZE``
    (``report_factories``): a page read loads its fifty factories, not the whole report."""
    key = report_key(partnership, start, end)
    now = now or timezone.now()
    if (start, end) == default_period():
        cache.set(_read_key(partnership.pk), True, timeout=READ_SECONDS)
    if not refresh:
        found = cache.get(key)
        if isinstance(found, Snapshot) and now - found.computed_at < freshness():
            return found
    data = reports.gather(partnership, start, end)
    rows = data.factories
    snapshot = Snapshot(
        computed_at=now,
        figures={
            "report": dataclasses.replace(
                data, factories=[], kpis=[_without_values(item) for item in data.kpis]
            ),
            "factories": len(rows),
        },
        key=key,
    )
    timeout = int(freshness().total_seconds()) + 60
    cache.set_many(
        {
            _page_key(snapshot, number): rows[first : first + REPORT_PAGE_SIZE]
            for number, first in enumerate(range(0, len(rows), REPORT_PAGE_SIZE), start=1)
        },
        timeout=timeout,
    )
    cache.set(key, snapshot, timeout=timeout)
    return snapshot


def _without_values(found: Any) -> Any:
    """``found`` (a KPI's figures) without each figure's values: the preview shows averages
    and counts, and a report's values (one per factory and KPI) would make its snapshot
    hundreds of kilobytes to read back on every request."""
    if isinstance(found, Figure):
        return dataclasses.replace(found, values=())
    if dataclasses.is_dataclass(found) and not isinstance(found, type):
        inner = {
            f.name: _without_values(getattr(found, f.name))
            for f in dataclasses.fields(found)
            if f.init and dataclasses.is_dataclass(getattr(found, f.name))
        }
        return dataclasses.replace(found, **inner) if inner else found
    return found


def report_factories(snapshot: Snapshot, number: int) -> list[reports.FactoryProgress] | None:
    """One page of the report's per-factory table (None: no longer kept)."""
    found = cache.get(_page_key(snapshot, number))
    return found if isinstance(found, list) else None


def _read_key(partnership_id: int) -> str:
    return f"results:{KEY_VERSION}:report-read:{partnership_id}"


def _page_key(snapshot: Snapshot, number: int) -> str:
    return f"{snapshot.fragment_key}:factories:{number}"


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The preview's period unless one is chosen: this year so far."""
    today = today or timezone.localdate()
    return today.replace(month=1, day=1), today


# --- Keeping the unfiltered views warm -----------------------------------------------------------


def funding_partner_ids() -> list[int]:
    """Brands and initiatives that fund at least one partnership: those with a portfolio."""
    return list(
        Partner.objects.filter(partnerships__isnull=False, kind__in=FUNDING_KINDS)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def refresh_unfiltered(*, now: datetime.datetime | None = None) -> int:
    """Count again the programme dashboard and every portfolio without filters, as their
    readers who see everything or the whole portfolio would, and the report previews for
    this year (default language) of running partnerships read in the last hour; returns the
    snapshots made."""
    everything = Enrolment.objects.all()
    kept(programme_key({}), lambda: programme_figures(everything), now=now, refresh=True)
    made = 1
    for brand_id in funding_partner_ids():
        kept(
            portfolio_key(brand_id, {}),
            functools.partial(
                portfolio_figures,
                brand_id=brand_id,
                enrolments=Enrolment.objects.filter(partnership__partner_id=brand_id),
                country="",
            ),
            now=now,
            refresh=True,
        )
        made += 1
    start, end = default_period()
    with translation.override(settings.LANGUAGE_CODE):
        running = Partnership.objects.filter(status__in=REPORTED_STATUSES)
        for partnership in running.select_related("partner").order_by("pk"):
            if not cache.get(_read_key(partnership.pk)):
                continue
            report(partnership, start, end, now=now, refresh=True)
            made += 1
    return made
