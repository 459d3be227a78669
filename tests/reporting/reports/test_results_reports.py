"""The partnership results report: its figures against an independent count, the PDF and
XLSX read back, the worker's path for a large report, and who may get one."""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
from collections import Counter
from decimal import Decimal

import pytest
from django.urls import reverse

from reporting import reports
from reporting.models import ResultsReport
from score_portal.models import OutboundEmail
from tests.conftest import client_for
from tests.reporting.reports.conftest import PERIOD_END, PERIOD_START
from training.models import ConsultingVisit, Enrolment, Participant

pytestmark = pytest.mark.django_db


def _covered(programme) -> list[Enrolment]:
    """The enrolments the period covers, decided one by one in Python."""
    first = reports.day_start(PERIOD_START)
    covered = []
    for e in Enrolment.objects.filter(partnership=programme.partnership):
        if e.created_at.date() > PERIOD_END:
            continue
        if e.status == "completed" and e.completed_at < first:
            continue
        if e.status in ("declined", "withdrawn") and e.status_changed_at < first:
            continue
        covered.append(e)
    return covered


def test_the_figures_equal_an_independent_count(programme):
    covered = _covered(programme)
    assert programme.ended_before not in covered
    assert len(covered) == 4  # the world's, and three of five: two ended before the period

    data = reports.gather(programme.partnership, PERIOD_START, PERIOD_END)

    assert data.headline.enrolments == len(covered)
    assert data.headline.factories == len({e.factory_id for e in covered})
    assert data.headline.by_status == {
        status: sum(1 for e in covered if e.status == status) for status in Enrolment.Status.values
    }
    first = reports.day_start(PERIOD_START)
    assert (
        data.headline.completions
        == 1
        == sum(1 for e in covered if e.completed_at and e.completed_at >= first)
    )
    people = Counter((p.role, p.gender) for p in Participant.objects.filter(enrolment__in=covered))
    assert data.headline.participants == dict(people)
    assert data.headline.women == sum(n for (_r, g), n in people.items() if g == "woman")
    assert data.headline.workers == sum(n for (r, _g), n in people.items() if r == "worker")

    lines = {(f.name, line.module): line for f in data.factories for line in f.enrolments}
    assert len(lines) == len(covered)
    for e in covered:
        line = lines[(e.factory.name, e.module.display_title)]
        visits = ConsultingVisit.objects.filter(enrolment=e)
        assert line.visits_total == visits.count()
        assert line.visits_in_period == sum(
            1 for v in visits if PERIOD_START <= v.visited_on <= PERIOD_END
        )
        assert line.status == e.status
    # Steps: baseline visit, classroom, plan, three follow-ups, completion.
    third = lines[("Report Factory 2", covered[0].module.display_title)]
    assert (third.steps_done, third.steps_total) == (5, 7)  # not the last visit, not completed

    # The ledger is the partnership page's, the KPI figures the brand's impact figures.
    assert data.ledger.funded == 5 == sum(e.holds_place for e in programme.enrolments)
    (absenteeism,) = data.kpis
    assert absenteeism.unshared.baseline.average == Decimal(11)  # (10 + 11 + 12) / 3
    assert absenteeism.unshared.follow_up.average == Decimal(9)  # (8 + 9 + 10) / 3
    assert absenteeism.shared.baseline.average is None  # one factory: withheld


def test_a_period_before_everything_counts_nothing(programme):
    long_ago = PERIOD_START - datetime.timedelta(days=3000)
    data = reports.gather(programme.partnership, long_ago, long_ago)
    assert data.headline.enrolments == 0
    assert data.factories == []


def _post(client, partnership, fmt, start=PERIOD_START, end=PERIOD_END):
    return client.post(
        reverse("reporting:partnership_report", args=[partnership.pk]),
        {"period_start": start.isoformat(), "period_end": end.isoformat(), "format": fmt},
    )


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_the_pdf_names_the_partnership_and_its_figures(programme, brand_staff, tmp_path):
    response = _post(client_for(brand_staff), programme.partnership, "pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    data = reports.gather(programme.partnership, PERIOD_START, PERIOD_END)
    assert "Brand A pilot" in text
    assert programme.partnership.partner.name in text
    assert "东莞华美制衣有限公司" in text  # CJK names print (Noto CJK)
    assert "Report Factory 2" in text and "Report Factory 1" not in text
    participants_line = next(line for line in text.splitlines() if "Participants" in line)
    assert str(data.headline.participants_total) in participants_line
    assert "Absenteeism" in text and "11.00" in text and "9.00" in text


def test_the_xlsx_stores_numbers_as_numbers(programme, ilo_admin):
    from openpyxl import load_workbook

    response = _post(client_for(ilo_admin), programme.partnership, "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == reports.CONTENT_TYPES["xlsx"]
    book = load_workbook(io.BytesIO(response.content))
    summary = {row[0]: row[1] for row in book["Partnership"].iter_rows(values_only=True)}
    data = reports.gather(programme.partnership, PERIOD_START, PERIOD_END)
    assert summary["Partnership"] == "Brand A pilot"
    assert summary["Enrolments in the period"] == data.headline.enrolments
    assert isinstance(summary["Budget"], int | float)
    assert summary["Budget"] == float(data.ledger.budget)
    assert summary["Places (factories to fund)"] == 10
    people = list(book["Participants"].iter_rows(values_only=True))
    assert people[0][0] == "Role"
    assert people[-1][-1] == data.headline.participants_total
    assert all(isinstance(n, int) for n in people[1][1:])
    kpis = list(book["KPIs"].iter_rows(values_only=True))
    unshared = next(row for row in kpis if row[2] == "Not shared")
    assert unshared[5] == 11 and unshared[6] == 9 and unshared[7] == -2
    shared = next(row for row in kpis if row[2] == "Shared with you")
    assert shared[5] == "—"
    factories = list(book["Factories"].iter_rows(values_only=True))
    assert len(factories) == 1 + data.headline.enrolments
    assert all(isinstance(row[5], int) for row in factories[1:])


def test_a_large_report_goes_through_the_worker(
    programme, brand_staff, settings, django_capture_on_commit_callbacks
):
    settings.RESULTS_REPORT_INLINE_ENROLMENTS = 2
    client = client_for(brand_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, programme.partnership, "xlsx")
    assert response.status_code == 302
    assert response.url == reverse("reporting:report_list")
    report = ResultsReport.objects.get()
    assert report.status == ResultsReport.Status.READY
    assert report.requested_by == brand_staff
    assert report.attempts == 1
    # Run twice: the claim lets nothing through a second time.
    assert reports.render_results_report(report_id=report.pk) is False
    email = OutboundEmail.objects.get(template="results_report_ready")
    assert email.to == brand_staff.email
    assert reverse("reporting:report_download", args=[report.pk]) in email.body_text

    listing = client.get(reverse("reporting:report_list"))
    assert listing.status_code == 200
    download_url = reverse("reporting:report_download", args=[report.pk])
    assert download_url in listing.text
    download = client.get(download_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:2] == b"PK"  # a zip: the workbook


def test_a_failed_render_is_recorded_and_retried(
    programme, brand_staff, settings, monkeypatch, django_capture_on_commit_callbacks
):
    report = ResultsReport.objects.create(
        partnership=programme.partnership,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        format="pdf",
        language="en",
        requested_by=brand_staff,
    )

    def broken(data, fmt):
        raise RuntimeError("fonts gone")

    monkeypatch.setattr(reports, "render", broken)
    with pytest.raises(RuntimeError):
        reports.render_results_report(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ResultsReport.Status.QUEUED
    assert "fonts gone" in report.last_error
    monkeypatch.undo()
    assert reports.render_results_report(report_id=report.pk) is True
    report.refresh_from_db()
    assert report.status == ResultsReport.Status.READY and report.attempts == 2


def test_a_report_still_queued_cannot_be_downloaded(programme, brand_staff):
    report = ResultsReport.objects.create(
        partnership=programme.partnership,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        format="pdf",
        language="en",
        requested_by=brand_staff,
    )
    url = reverse("reporting:report_download", args=[report.pk])
    assert client_for(brand_staff).get(url).status_code == 404


def test_the_form_keeps_what_was_typed_and_shows_errors(programme, brand_staff):
    response = _post(
        client_for(brand_staff), programme.partnership, "pdf", start=PERIOD_END, end=PERIOD_START
    )
    assert response.status_code == 200
    assert "The period ends before it starts." in response.text
    assert f'value="{PERIOD_END.isoformat()}"' in response.text
    response = client_for(brand_staff).post(
        reverse("reporting:partnership_report", args=[programme.partnership.pk]),
        {"period_start": "31/02/2026", "period_end": "", "format": "doc"},
    )
    assert response.status_code == 200
    assert 'value="31/02/2026"' in response.text
    assert response.text.count('class="errorlist"') >= 3


def test_the_partnership_page_offers_the_report(programme, brand_staff, brand_viewer, trainer):
    url = programme.partnership.get_absolute_url()
    for person in (brand_staff, brand_viewer):
        page = client_for(person).get(url)
        assert reverse("reporting:partnership_report", args=[programme.partnership.pk]) in (
            page.text
        )


# --- Who may ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("brand_staff", 200),
        ("brand_viewer", 200),
        ("ilo_admin", 200),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        ("trainer", 404),
        ("provider_staff", 404),
    ],
)
def test_only_the_partner_and_the_ilo_get_a_report(request, programme, persona, expected):
    client = client_for(request.getfixturevalue(persona))
    url = reverse("reporting:partnership_report", args=[programme.partnership.pk])
    assert client.get(url).status_code == expected
    assert _post(client, programme.partnership, "xlsx").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("brand_staff", 200),
        ("ilo_admin", 200),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        ("trainer", 404),
    ],
)
def test_a_generated_report_is_its_partners(request, programme, brand_staff, persona, expected):
    report = ResultsReport.objects.create(
        partnership=programme.partnership,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        format="pdf",
        language="en",
        requested_by=brand_staff,
    )
    reports.render_results_report(report_id=report.pk)
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("reporting:report_download", args=[report.pk])).status_code == (
        expected
    )
    listing = client.get(reverse("reporting:report_list"))
    if persona == "other_brand_staff":
        assert listing.status_code == 200
        assert reverse("reporting:report_download", args=[report.pk]) not in listing.text
    elif expected == 404:
        assert listing.status_code == 404


def test_a_cofunders_report_counts_the_cofunded_enrolment_and_its_share(
    programme, world, other_brand, brand_staff, other_brand_staff
):
    """README, "Co-funding": the co-funder's report covers the enrolment it pays a share
    of, with that share; its ledger counts half a place."""
    from openpyxl import load_workbook

    from suppliers.services import link_supplier
    from training.services import cofunding

    link_supplier(brand=other_brand, factory=world.factory, supplier_code="B-9")
    proposal = cofunding.propose_cofunding(
        enrolment=world.enrolment,
        partnership=world.other_partnership,
        share=Decimal("0.25"),
        actor=other_brand_staff,
    )
    cofunding.agree_cofunding(cofunding=proposal, actor=brand_staff)
    data = reports.gather(world.other_partnership, PERIOD_START, PERIOD_END)
    lines = {(f.name, e.module): e.share for f in data.factories for e in f.enrolments}
    assert lines[(world.factory.name, world.enrolment.module.display_title)] == Decimal("0.25")
    assert data.ledger.funded == Decimal("1.25")  # its own enrolment and a quarter
    assert data.headline.factories == 2
    lead = reports.gather(world.partnership, PERIOD_START, PERIOD_END)
    shares = {e.share for f in lead.factories for e in f.enrolments}
    assert Decimal("0.75") in shares
    response = _post(client_for(other_brand_staff), world.other_partnership, "xlsx")
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book["Factories"].iter_rows(values_only=True))
    assert rows[0][-1] == "Share funded"
    assert sorted(row[-1] for row in rows[1:]) == [0.25, 1]
