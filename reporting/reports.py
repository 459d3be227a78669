"""A partnership's results report over a period: the figures (``gather``), the PDF and XLSX
they render to, and the requests that render them in the request or in the worker.

Which enrolments a period covers: those of the partnership made on or before the period's
last day and not ended before its first day (completed, declined or withdrawn earlier). Their
statuses are today's; completions are those dated in the period; visits are counted in the
period and in all.

KPI figures are the partner's impact figures (``training.impact.kpi_impact``): one value per
factory, shared and unshared factories apart, at least ``KPI_MIN_FACTORIES`` behind a
figure, unshared ones in whole blocks. They cover every factory the partner funds, not this
partnership or period alone: the privacy rule allows no narrower figure (a figure over a
subset beside one over all is a difference of two sets). The report shows the same KPI
figures whoever renders it (the ILO included): it is the partner's report, to hand on.

Small reports render in the request; one covering more than
``RESULTS_REPORT_INLINE_ENROLMENTS`` enrolments is a ``ResultsReport`` row that the worker
renders (score_portal.jobs), stores (the certificates' storage) and announces by email.
"""

from __future__ import annotations

import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from weasyprint import CSS

from partners.models import Partnership
from partners.selectors import Ledger, ledger_of
from reporting.models import ResultsReport
from score_portal import jobs
from score_portal.access import can_report_on_partnership
from score_portal.emails import queue_email
from score_portal.models import User
from score_portal.scope import scope_of
from suppliers.exports import cell
from training import impact
from training.models import (
    CoFunding,
    ConsultingVisit,
    Enrolment,
    ImprovementAction,
    KPIReading,
    Participant,
)
from training.pdf import FONT_CONFIG, STATIC_ORIGIN, StaticOnlyFetcher, render_pdf
from training.selectors import progress_of

E = Enrolment.Status
ENDED = (E.DECLINED, E.WITHDRAWN)
TEMPLATE = "reporting/report_pdf.html"
STYLESHEET = "css/report.css"


class ReportError(Exception):
    """A report cannot be made as asked; the message is for the person who asked."""


# --- The figures ------------------------------------------------------------------------------


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the portal's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def enrolments_in_period(
    partnership: Partnership, start: datetime.date, end: datetime.date
) -> QuerySet[Enrolment]:
    """The partnership's enrolments the period covers (module docstring)."""
    after_end = day_start(end + datetime.timedelta(days=1))
    before = day_start(start)
    # As lead funder or co-funder (README, "Co-funding"): the report counts the enrolments
    # the partnership pays for, wholly or in part; its ledger counts its share.
    funded = Enrolment.objects.funded_by_partnership(partnership.pk)
    return funded.filter(created_at__lt=after_end).exclude(
        Q(status=E.COMPLETED, completed_at__lt=before)
        | Q(status__in=ENDED, status_changed_at__lt=before)
    )


@dataclass(frozen=True)
class EnrolmentProgress:
    """One enrolment's line in the per-factory table."""

    module: str
    status: str
    status_label: str
    share: Decimal  # the partnership's share of the enrolment (1 unless co-funded)
    steps_done: int
    steps_total: int
    visits_in_period: int
    visits_total: int

    @property
    def share_percent(self) -> int:
        return int(self.share * 100)


@dataclass
class FactoryProgress:
    name: str
    name_latin: str
    country: str
    enrolments: list[EnrolmentProgress] = field(default_factory=list)


@dataclass(frozen=True)
class Headline:
    """The counts of the period (cheap: a few aggregate queries), also what IATI reports."""

    enrolments: int
    factories: int
    by_status: dict[str, int]
    completions: int
    participants: dict[tuple[str, str], int]  # (role, gender) -> people

    @property
    def participants_total(self) -> int:
        return sum(self.participants.values())

    def participants_with(self, *, role: str = "", gender: str = "") -> int:
        return sum(
            n
            for (r, g), n in self.participants.items()
            if (not role or r == role) and (not gender or g == gender)
        )

    @property
    def women(self) -> int:
        return self.participants_with(gender=Participant.Gender.WOMAN)

    @property
    def workers(self) -> int:
        return self.participants_with(role=Participant.Role.WORKER)


@dataclass
class ReportData:
    partnership: Partnership
    period_start: datetime.date
    period_end: datetime.date
    ledger: Ledger
    headline: Headline
    factories: list[FactoryProgress]
    kpis: list[impact.KPIImpact]
    generated_at: datetime.datetime

    @property
    def kpi_min_factories(self) -> int:
        return impact.min_factories()

    @property
    def status_rows(self) -> list[tuple[str, int]]:
        return [(str(label), self.headline.by_status[value]) for value, label in E.choices]

    @property
    def participant_rows(self) -> list[tuple[str, list[int], int]]:
        """(role label, people per gender in ``Participant.Gender`` order, total) per role."""
        rows = []
        for role, label in Participant.Role.choices:
            counts = [
                self.headline.participants.get((role, gender), 0)
                for gender in Participant.Gender.values
            ]
            rows.append((str(label), counts, sum(counts)))
        return rows

    @property
    def participant_totals(self) -> list[int]:
        return [
            self.headline.participants_with(gender=gender) for gender in Participant.Gender.values
        ]

    @property
    def gender_labels(self) -> list[str]:
        return [str(label) for label in Participant.Gender.labels]


def headline(partnership: Partnership, start: datetime.date, end: datetime.date) -> Headline:
    """The period's counts in three queries."""
    enrolments = enrolments_in_period(partnership, start, end)
    by_status = dict.fromkeys(E.values, 0)
    factories: set[int] = set()
    completions = 0
    last = day_start(end + datetime.timedelta(days=1))
    first = day_start(start)
    for status, factory_id, completed_at in enrolments.order_by().values_list(
        "status", "factory_id", "completed_at"
    ):
        by_status[status] += 1
        factories.add(factory_id)
        if status == E.COMPLETED and completed_at and first <= completed_at < last:
            completions += 1
    participants = {
        (role, gender): n
        for role, gender, n in Participant.objects.filter(enrolment__in=enrolments)
        .order_by()
        .values_list("role", "gender")
        .annotate(n=Count("pk"))
    }
    return Headline(
        enrolments=sum(by_status.values()),
        factories=len(factories),
        by_status=by_status,
        completions=completions,
        participants=participants,
    )


def factory_progress(
    partnership: Partnership, start: datetime.date, end: datetime.date
) -> list[FactoryProgress]:
    """Per factory (by name), each enrolment's module, status, cycle steps done (the steps
    of ``training.selectors.progress_of``) and visits, in four queries whatever the size."""
    enrolments = (
        enrolments_in_period(partnership, start, end)
        .select_related("factory", "module", "cohort")
        .annotate(
            cofunded_share=Subquery(
                CoFunding.objects.filter(
                    enrolment=OuterRef("pk"), partnership=partnership, in_force=True
                ).values("share")[:1]
            ),
            classroom_attended=Exists(
                Participant.objects.filter(
                    enrolment=OuterRef("pk"), attended_classroom__isnull=False
                )
            ),
            has_improvement_plan=Exists(ImprovementAction.objects.filter(enrolment=OuterRef("pk"))),
        )
        .prefetch_related(
            Prefetch("visits", queryset=ConsultingVisit.objects.order_by("visited_on", "pk")),
            # progress_of also reads KPI readings: a report shows none per factory.
            Prefetch("kpi_readings", queryset=KPIReading.objects.none()),
        )
        .order_by("factory__name", "factory_id", "module__sort_order", "module__code")
    )
    per_factory: dict[int, FactoryProgress] = {}
    for enrolment in enrolments:
        factory = enrolment.factory
        row = per_factory.get(factory.pk)
        if row is None:
            row = per_factory[factory.pk] = FactoryProgress(
                name=factory.name,
                name_latin=factory.name_latin if factory.name_latin != factory.name else "",
                country=str(factory.country.name),  # type: ignore[attr-defined]
            )
        progress = progress_of(enrolment)
        visits = list(enrolment.visits.all())
        row.enrolments.append(
            EnrolmentProgress(
                module=enrolment.module.display_title,
                status=enrolment.status,
                status_label=enrolment.get_status_display(),
                share=(
                    enrolment.lead_share
                    if enrolment.partnership_id == partnership.pk
                    else Decimal(enrolment.cofunded_share or 0)
                ),
                steps_done=sum(step.done for step in progress.steps),
                steps_total=len(progress.steps),
                visits_in_period=sum(1 for v in visits if start <= v.visited_on <= end),
                visits_total=len(visits),
            )
        )
    return list(per_factory.values())


def gather(partnership: Partnership, start: datetime.date, end: datetime.date) -> ReportData:
    """Every figure of the report (in the active language for labels)."""
    partnership = (
        Partnership.objects.select_related("partner")
        .prefetch_related("modules")
        .get(pk=partnership.pk)
    )
    return ReportData(
        partnership=partnership,
        period_start=start,
        period_end=end,
        ledger=ledger_of(partnership),
        headline=headline(partnership, start, end),
        factories=factory_progress(partnership, start, end),
        kpis=impact.kpi_impact(brand_id=partnership.partner_id),
        generated_at=timezone.now(),
    )


# --- Rendering ----------------------------------------------------------------------------------


@cache
def report_stylesheet() -> CSS:
    return CSS(
        url=STATIC_ORIGIN + STYLESHEET, url_fetcher=StaticOnlyFetcher(), font_config=FONT_CONFIG
    )


def as_pdf(data: ReportData) -> bytes:
    """The report as an A4 PDF in the active language (fonts as the certificates': Noto,
    CJK included, through the same locked-down fetcher)."""
    html = render_to_string(TEMPLATE, {"report": data, "p": data.partnership})
    return render_pdf(html, stylesheets=[report_stylesheet()])


def _number(value: Decimal | None) -> object:
    """A figure as a spreadsheet number, or "—" where it is withheld."""
    return "—" if value is None else value.quantize(Decimal("0.001"))


def _sheet(workbook: Any, title: str) -> Any:
    """A new sheet; Excel allows 31 characters in a sheet's name and none of []:*?/\\."""
    return workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", title)[:31])


def as_xlsx(data: ReportData) -> bytes:
    """The report as a workbook, one sheet per table; numbers are stored as numbers."""
    from openpyxl import Workbook

    p = data.partnership
    ledger = data.ledger
    workbook = Workbook(write_only=True)

    summary = _sheet(workbook, _("Partnership"))
    for label, value in (
        (_("Partnership"), p.title),
        (_("Partner"), p.partner.name),
        (_("Kind"), p.get_kind_display()),
        (_("Status"), p.get_status_display()),
        (_("Countries"), ", ".join(str(c.name) for c in p.countries)),  # type: ignore[attr-defined]
        (_("Modules"), ", ".join(m.display_title for m in p.modules.all())),
        (_("From"), data.period_start),
        (_("To"), data.period_end),
        (_("Places (factories to fund)"), ledger.quota),
        (_("Factories funded"), ledger.funded),
        (_("Places left"), ledger.places_left),
        (_("Currency"), p.currency),
        (_("Budget"), Decimal(ledger.budget)),
        (_("Budget committed"), ledger.budget_committed),
        (_("Budget left"), ledger.budget_left),
        (_("Paid by the partner"), ledger.partner_pays),
        (_("Enrolments in the period"), data.headline.enrolments),
        (_("Factories in the period"), data.headline.factories),
        (_("Completions in the period"), data.headline.completions),
        (_("Participants"), data.headline.participants_total),
        (_("Generated at"), timezone.localtime(data.generated_at).replace(tzinfo=None)),
    ):
        summary.append([cell(label), value if not isinstance(value, str) else cell(value)])

    statuses = _sheet(workbook, _("Enrolments"))
    statuses.append([_("Status"), _("Enrolments")])
    for label, count in data.status_rows:
        statuses.append([cell(label), count])

    people = _sheet(workbook, _("Participants"))
    people.append([_("Role"), *data.gender_labels, _("Total")])
    for label, counts, total in data.participant_rows:
        people.append([cell(label), *counts, total])
    people.append([_("Total"), *data.participant_totals, data.headline.participants_total])

    factories = _sheet(workbook, _("Factories"))
    factories.append(
        [
            _("Factory"),
            _("Latin name"),
            _("Country"),
            _("Module"),
            _("Status"),
            _("Steps done"),
            _("Steps"),
            _("Visits in the period"),
            _("Visits in all"),
            _("Share funded"),
        ]
    )
    for factory in data.factories:
        for line in factory.enrolments:
            factories.append(
                [
                    cell(factory.name),
                    cell(factory.name_latin),
                    cell(factory.country),
                    cell(line.module),
                    cell(line.status_label),
                    line.steps_done,
                    line.steps_total,
                    line.visits_in_period,
                    line.visits_total,
                    line.share,
                ]
            )

    kpis = _sheet(workbook, _("KPIs"))
    kpis.append(
        [
            _("KPI"),
            _("Unit"),
            _("Factories"),
            _("Reporting"),
            _("Counted"),
            _("Baseline (average)"),
            _("Follow-up (average)"),
            _("Change per factory (average)"),
        ]
    )
    for item in data.kpis:
        for label, group in ((_("Shared with you"), item.shared), (_("Not shared"), item.unshared)):
            kpis.append(
                [
                    cell(item.kpi.display_name),
                    cell(item.kpi.display_unit),
                    cell(label),
                    group.reporting,
                    group.baseline.counted,
                    _number(group.baseline.average),
                    _number(group.follow_up.average),
                    _number(group.change.average),
                ]
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


CONTENT_TYPES = {
    ResultsReport.Format.PDF: "application/pdf",
    ResultsReport.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def render(data: ReportData, fmt: str) -> bytes:
    return as_pdf(data) if fmt == ResultsReport.Format.PDF else as_xlsx(data)


# --- Requests -----------------------------------------------------------------------------------


def is_large(partnership: Partnership, start: datetime.date, end: datetime.date) -> bool:
    """Whether the report goes to the worker (more enrolments than the setting allows)."""
    limit = int(settings.RESULTS_REPORT_INLINE_ENROLMENTS)
    return enrolments_in_period(partnership, start, end)[: limit + 1].count() > limit


def check_request(
    *, partnership: Partnership, actor: User, period_start: datetime.date, period_end: datetime.date
) -> None:
    if not can_report_on_partnership(scope_of(actor), partnership.partner_id):
        raise ReportError(_("Only the partner's people and the ILO report on a partnership."))
    if period_end < period_start:
        raise ReportError(_("The period ends before it starts."))


def request_results_report(
    *,
    partnership: Partnership,
    actor: User,
    period_start: datetime.date,
    period_end: datetime.date,
    fmt: str,
    language: str,
) -> ResultsReport:
    """Ask the worker for a report: the row is written and its rendering queued after
    commit; the person is emailed when it is ready."""
    check_request(
        partnership=partnership, actor=actor, period_start=period_start, period_end=period_end
    )
    with transaction.atomic():
        report = ResultsReport.objects.create(
            partnership=partnership,
            period_start=period_start,
            period_end=period_end,
            format=fmt,
            language=language,
            requested_by=actor,
        )
        jobs.queue_after_commit(ResultsReport, report.pk)
    return report


def render_results_report(*, report_id: int) -> bool:
    """Render, store and mark ready one queued report, then email who asked. False when
    another worker holds it or it is done; an error is recorded on the row and raised, for
    the task to retry."""
    held = jobs.claim(ResultsReport, report_id)
    if held is None:
        return False
    report = ResultsReport.objects.select_related("partnership", "requested_by").get(pk=report_id)
    try:
        with translation.override(report.language):
            data = gather(report.partnership, report.period_start, report.period_end)
            content = render(data, report.format)
        name = default_storage.save(f"reports/{held.at:%Y}/{report.filename}", ContentFile(content))
    except Exception as exc:
        jobs.fail(ResultsReport, report_id, held, exc)
        raise
    with transaction.atomic():
        try:
            jobs.finish(
                ResultsReport, report_id, held, file=name, finished_at=timezone.now(), last_error=""
            )
        except jobs.ClaimLost:
            transaction.on_commit(lambda: default_storage.delete(name))
            return False
        report.status = ResultsReport.Status.READY
        report.file.name = name
        _notify_ready(report)
    return True


def _notify_ready(report: ResultsReport) -> None:
    person = report.requested_by
    if person is None or not person.is_active:
        return
    queue_email(
        to=person.email,
        template="results_report_ready",
        context={
            "report": report,
            "recipient": person,
            "reports_url": reverse("reporting:report_list"),
            "download_url": reverse("reporting:report_download", args=[report.pk]),
        },
        language=person.language or report.language,
        link=reverse("reporting:report_list"),
    )
