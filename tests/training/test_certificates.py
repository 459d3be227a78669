"""Certificates: requested at completion, rendered once by the task, read back from the PDF."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone, translation
from weasyprint.pdf.fonts import Font

from score_portal import jobs
from score_portal.models import OutboundEmail
from score_portal.tasks import sweep_jobs
from tests.conftest import client_for
from tests.factories import mark_completed
from training import pdf
from training.models import Certificate, ConsultingVisit, Enrolment
from training.services import certificates as services
from training.tasks import render_certificate

pytestmark = pytest.mark.django_db

needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: run `make system-deps`"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def complete(enrolment: Enrolment, *, trainer=None, visits: int = 3) -> Enrolment:
    """A completed enrolment made directly (the completion service has its own tests), its
    classroom held 40 days ago and its visits in time order around it."""
    today = datetime.date.today()
    if trainer is not None:
        ConsultingVisit.objects.create(
            enrolment=enrolment,
            kind="baseline",
            number=1,
            visited_on=today - datetime.timedelta(days=45),
            trainer=trainer,
        )
        for number in range(1, visits + 1):
            ConsultingVisit.objects.create(
                enrolment=enrolment,
                kind="follow_up",
                number=number,
                visited_on=today - datetime.timedelta(days=35 - 5 * number),
                trainer=trainer,
            )
    return mark_completed(enrolment)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what is queued after commit (the render task, then the email), as in production."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def issue(committed):
    def issue(enrolment: Enrolment, **kwargs) -> Certificate:
        with committed():
            certificate = services.request_certificate(enrolment=complete(enrolment, **kwargs))
        certificate.refresh_from_db()
        return certificate

    return issue


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_fonts(path) -> list[list[str]]:
    out = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [line.split() for line in out[2:]]


# --- Request and render -------------------------------------------------------------------


def test_request_needs_a_completed_enrolment(world):
    with pytest.raises(services.CertificateError, match="completed"):
        services.request_certificate(enrolment=world.enrolment)
    assert not Certificate.objects.exists()


def test_code_exists_before_rendering_and_rendering_follows_commit(
    world, factory_manager, django_capture_on_commit_callbacks
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        certificate = services.request_certificate(enrolment=enrolment)
    assert certificate.status == Certificate.Status.PENDING
    assert len(certificate.code) == 19 and certificate.code.count("-") == 3
    assert not certificate.pdf
    assert not OutboundEmail.objects.filter(template="certificate_issued").exists()
    assert len(callbacks) == 1
    callbacks[0]()
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED
    assert certificate.issued_at is not None
    assert certificate.pdf.name.endswith(f"{certificate.code}.pdf")
    assert certificate.attempts == 1
    emails = OutboundEmail.objects.filter(template="certificate_issued")
    assert list(emails.values_list("to", flat=True)) == [factory_manager.email]
    assert certificate.code in emails.get().body_text


def test_requesting_twice_returns_the_live_certificate(world, factory_manager, committed):
    enrolment = complete(world.enrolment)
    with committed():
        first = services.request_certificate(enrolment=enrolment)
    with committed():
        second = services.request_certificate(enrolment=enrolment)
    assert first.pk == second.pk
    assert Certificate.objects.filter(enrolment=enrolment).count() == 1
    assert OutboundEmail.objects.filter(template="certificate_issued").count() == 1


def test_running_the_render_task_twice_renders_and_emails_once(
    world, factory_manager, django_capture_on_commit_callbacks, committed
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    with committed():
        assert render_certificate.apply(args=[certificate.pk]).get() is True
    with committed():
        assert render_certificate.apply(args=[certificate.pk]).get() is False
    certificate.refresh_from_db()
    assert certificate.attempts == 1
    assert OutboundEmail.objects.filter(template="certificate_issued").count() == 1
    assert len([m for m in mail.outbox if certificate.code in m.body]) == 1


def test_a_failed_render_is_recorded_retried_and_emails_only_with_the_pdf(
    world, factory_manager, monkeypatch, django_capture_on_commit_callbacks
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    real = pdf.certificate_pdf
    calls = {"n": 0}

    def flaky(certificate, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("font cache locked")
        return real(certificate, **kwargs)

    monkeypatch.setattr(pdf, "certificate_pdf", flaky)
    with pytest.raises(OSError):
        services.render_certificate(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.PENDING
    assert certificate.claimed_at is None  # released for the retry
    assert certificate.last_error == "OSError: font cache locked"
    assert not OutboundEmail.objects.filter(template="certificate_issued").exists()
    # The task retries with backoff (eagerly here) and succeeds.
    assert services.render_certificate(certificate_id=certificate.pk) is True
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED
    assert certificate.attempts == 2
    assert certificate.last_error == ""
    assert OutboundEmail.objects.filter(template="certificate_issued").count() == 1


def test_the_task_retries_a_failing_render_with_backoff(
    world, factory_manager, monkeypatch, django_capture_on_commit_callbacks
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    real = pdf.certificate_pdf
    calls = {"n": 0}

    def flaky(certificate, **kwargs):
        calls["n"] += 1
        if calls["n"] < 3:
            raise OSError("disk full")
        return real(certificate, **kwargs)

    monkeypatch.setattr(pdf, "certificate_pdf", flaky)
    # Each failed run asks Celery for a retry (a broker would deliver it after the backoff).
    for _ in range(2):
        with pytest.raises(Retry):
            render_certificate.apply(args=[certificate.pk])
    certificate.refresh_from_db()
    assert certificate.last_error == "OSError: disk full"
    assert render_certificate.apply(args=[certificate.pk]).get() is True
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED
    assert certificate.attempts == 3
    assert render_certificate.retry_backoff and render_certificate.max_retries


def test_a_stale_render_claim_is_taken_over_by_the_sweep(
    world, factory_manager, django_capture_on_commit_callbacks, settings
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    # A worker claimed it and died (its claim is older than JOB_STALE_MINUTES).
    long_ago = timezone.now() - datetime.timedelta(minutes=settings.JOB_STALE_MINUTES + 1)
    Certificate.objects.filter(pk=certificate.pk).update(claimed_at=long_ago, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.render_certificate(certificate_id=certificate.pk) is True
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED
    assert certificate.attempts == 2


def test_a_fresh_claim_is_left_alone(world, django_capture_on_commit_callbacks):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    Certificate.objects.filter(pk=certificate.pk).update(claimed_at=timezone.now())
    assert services.render_certificate(certificate_id=certificate.pk) is False
    assert jobs.sweep(Certificate) == 0


def test_the_certificate_sweep_queues_what_was_never_queued_and_runs_twice_safely(
    world, factory_manager, django_capture_on_commit_callbacks, committed
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down: never queued
        certificate = services.request_certificate(enrolment=enrolment)
    assert jobs.sweep(Certificate) == 0  # too recent: its own task may still come
    later = timezone.now() + datetime.timedelta(minutes=2)
    with committed():
        assert jobs.sweep(Certificate, now=later) == 1
    with committed():
        assert jobs.sweep(Certificate, now=later) == 0
    assert sweep_jobs.apply().get() == 0
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED
    assert OutboundEmail.objects.filter(template="certificate_issued").count() == 1


def test_the_sweep_gives_up_after_the_last_attempt(
    world, django_capture_on_commit_callbacks, settings
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    Certificate.objects.filter(pk=certificate.pk).update(
        attempts=settings.JOB_MAX_ATTEMPTS, last_error="ValueError: bad template"
    )
    later = timezone.now() + datetime.timedelta(minutes=2)
    assert jobs.sweep(Certificate, now=later) == 0
    # An ILO admin starts it again from the admin.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry_rendering(certificate=certificate) is True
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED


# --- The PDF itself -----------------------------------------------------------------------


@needs_poppler
def test_the_pdf_reads_back_in_chinese_with_every_fact(world, trainer, tmp_path, issue):
    world.factory.language = "zh-hans"
    world.factory.save()
    certificate = issue(world.enrolment, trainer=trainer)
    path = tmp_path / "c.pdf"
    path.write_bytes(certificate.pdf.read())
    text = pdf_text(path)
    assert "东莞华美制衣有限公司" in text
    assert "Dongguan Huamei Garment" in text
    assert certificate.code in text
    # The module's title in Chinese too (the catalogue's titles are translated).
    assert world.enrolment.module.title == "Workplace Cooperation"
    assert "工作场所合作" in text and "Workplace Cooperation" not in text
    assert "Brand A" in text  # funding partner
    assert "Provider P" in text
    assert f"/verify/{certificate.code}/" in text
    assert "{#" not in text and "stylesheet" not in text  # no template source leaks in
    # One A4 page.
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert "(A4)" in info and "841.89 x 595.276" in info  # landscape


@needs_poppler
def test_the_pdf_reads_back_in_turkish_and_embeds_its_fonts(world, tmp_path, issue):
    world.other_factory.language = "tr"
    world.other_factory.save()
    certificate = issue(world.other_enrolment)
    path = tmp_path / "c.pdf"
    path.write_bytes(certificate.pdf.read())
    text = pdf_text(path)
    assert "Özdemir Tekstil A.Ş." in text
    assert certificate.code in text
    assert "Türkiye" in text  # the country, in Turkish
    with translation.override("tr"):
        title = world.other_enrolment.module.display_title
    assert title != world.other_enrolment.module.title and title in text
    fonts = pdf_fonts(path)
    assert fonts, "no fonts in the PDF"
    # Every font is embedded (emb column "yes") and none is a Type 3 fallback.
    for row in fonts:
        assert "yes" in row[-5:-2], row
        assert "Type 3" not in " ".join(row)


@needs_poppler
@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("Công ty May mặc Việt Tiến", "vi"),
        ("ঢাকা গার্মেন্টস লিমিটেড", "bn"),
        ("東莞華美製衣", "zh-hans"),
    ],
)
def test_names_in_other_scripts_have_no_missing_glyphs(world, tmp_path, name, language, issue):
    factory = world.other_factory
    factory.name = name
    factory.language = language
    factory.save()
    certificate = issue(world.other_enrolment)
    path = tmp_path / "c.pdf"
    path.write_bytes(certificate.pdf.read())
    text = pdf_text(path)
    # Bengali shaping reorders glyphs in the text layer; its letters are there all the same.
    letters = {c for c in name if not c.isspace()}
    assert letters <= set(text) if language == "bn" else name in text
    assert "\ufffd" not in text  # no replacement characters
    families = " ".join(" ".join(row) for row in pdf_fonts(path)).replace("-", "")
    expected = {"vi": "NotoSans", "bn": "NotoSansBengali", "zh-hans": "NotoSansCJK"}[language]
    assert expected in families


def test_the_qr_code_points_to_the_verification_page(world, settings, monkeypatch):
    settings.SITE_URL = "https://score.example.org"
    certificate = Certificate(enrolment=complete(world.enrolment), code="ABCD-EFGH-JKLM-NPQR")
    context = pdf.certificate_context(certificate)
    assert context["verify_url"] == "https://score.example.org/verify/ABCD-EFGH-JKLM-NPQR/"
    encoded = []
    real = pdf.qr_png
    monkeypatch.setattr(pdf, "qr_png", lambda data: encoded.append(data) or real(data))
    fetcher = pdf.StaticOnlyFetcher()
    assert pdf.certificate_pdf(certificate, fetcher=fetcher).startswith(b"%PDF")
    # The QR image encodes the verification URL and reached the PDF through the fetcher.
    assert encoded == [context["verify_url"]]
    assert pdf.QR_URL in fetcher.requested and not fetcher.refused
    png = real(context["verify_url"])
    assert png.startswith(b"\x89PNG") and png != real(context["verify_url"] + "x")


def test_the_certificate_follows_the_factory_language(world):
    world.factory.language = "zh-hans"
    world.factory.save()
    certificate = Certificate(enrolment=complete(world.enrolment), code="ABCD-EFGH-JKLM-NPQR")
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("zh-hans"):
        html = render_to_string(pdf.TEMPLATE, pdf.certificate_context(certificate))
    assert 'lang="zh-hans"' in html
    assert "中国" in html  # the country's name in Chinese


# --- Locked-down rendering ----------------------------------------------------------------


HOSTILE = """
<html><head>
<link rel="stylesheet" href="css/certificate.css">
<link rel="stylesheet" href="http://127.0.0.1:9/x.css">
<style>
  body { background: url("file:///etc/passwd"); }
  h1 { background: url("../../../etc/hostname"); }
  h2 { background: url("https://static.score-portal.invalid/static/%2e%2e/%2e%2e/etc/passwd"); }
</style>
</head><body>
<h1>Certificate</h1><h2>x</h2>
<img src="file:///etc/passwd" alt="">
<img src="http://127.0.0.1:9/x.png" alt="">
<img src="https://example.org/logo.png" alt="">
<img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E" alt="">
<iframe src="file:///etc/passwd"></iframe>
</body></html>
"""


def test_templates_fetch_only_our_static_files():
    fetcher = pdf.StaticOnlyFetcher()
    data = pdf.render_pdf(HOSTILE, fetcher=fetcher)
    assert data.startswith(b"%PDF")
    assert fetcher.requested, "the fetcher was never asked"
    served = set(fetcher.requested) - set(fetcher.refused)
    assert served == {"https://static.score-portal.invalid/static/css/certificate.css"}
    refused = " ".join(fetcher.refused)
    assert "file:///etc/passwd" in refused
    assert "http://127.0.0.1:9/x.css" in refused
    assert "http://127.0.0.1:9/x.png" in refused
    assert "https://example.org/logo.png" in refused
    assert "etc/hostname" in refused
    assert "%2e%2e" in refused.lower()
    assert b"root:" not in data


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x",
        "https://static.score-portal.invalid/static/../settings.py",
        "https://static.score-portal.invalid/static/%2e%2e/score_portal/settings.py",
        "https://static.score-portal.invalid/static/css/..%2f..%2fmanage.py",
        "https://static.score-portal.invalid/static/css/certificate.css?x=1",
        "https://static.score-portal.invalid/static/",
        "https://static.score-portal.invalid.evil.example/static/css/certificate.css",
        "https://static.score-portal.invalid/static/css/missing.css",
    ],
)
def test_the_fetcher_refuses_anything_but_a_static_file(url):
    with pytest.raises(pdf.FetchRefused):
        pdf.static_path_for(url)


def test_the_fetcher_serves_a_static_file():
    path = pdf.static_path_for("https://static.score-portal.invalid/static/css/certificate.css")
    assert path.name == "certificate.css"


def test_fonts_are_configured_once_per_process(world, monkeypatch):
    seen = []
    real = pdf.HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append(kwargs["font_config"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pdf.HTML, "write_pdf", spy)
    pdf.render_pdf("<p>one</p>")
    pdf.render_pdf("<p>two</p>")
    assert seen[0] is seen[1] is pdf.FONT_CONFIG


def test_weasyprint_subsets_fonts_with_its_own_code():
    """The portal once replaced WeasyPrint's private Font._harfbuzz_subset; an upgrade could
    break such a patch silently, so the rendering module must leave it as shipped."""
    assert pdf.render_pdf("<p>东莞 Özdemir</p>").startswith(b"%PDF")
    assert Font._harfbuzz_subset.__module__ == "weasyprint.pdf.fonts"
    assert Font._harfbuzz_subset.__qualname__ == "Font._harfbuzz_subset"


# --- Revoke and reissue -------------------------------------------------------------------


def test_ilo_revokes_with_a_reason(world, ilo_admin, brand_staff, issue):
    certificate = issue(world.enrolment)
    with pytest.raises(services.CertificateError, match="ILO"):
        services.revoke_certificate(certificate=certificate, actor=brand_staff, reason="x")
    with pytest.raises(services.CertificateError, match="reason"):
        services.revoke_certificate(certificate=certificate, actor=ilo_admin, reason="  ")
    revoked = services.revoke_certificate(
        certificate=certificate, actor=ilo_admin, reason="Visits were not held."
    )
    assert revoked.status == Certificate.Status.REVOKED
    assert revoked.revoked_by == ilo_admin
    with pytest.raises(services.CertificateError, match="already “Revoked”"):
        services.revoke_certificate(certificate=certificate, actor=ilo_admin, reason="again")


def test_reissue_gives_a_new_code_and_the_old_one_is_replaced(
    world, ilo_admin, factory_manager, issue, committed
):
    old = issue(world.enrolment)
    with committed():
        new = services.reissue_certificate(certificate=old, actor=ilo_admin)
    old.refresh_from_db()
    new.refresh_from_db()
    assert new.code != old.code
    assert old.status == Certificate.Status.REPLACED
    assert old.replaced_by == new
    assert new.status == Certificate.Status.ISSUED and new.pdf
    assert OutboundEmail.objects.filter(template="certificate_issued").count() == 2
    with pytest.raises(services.CertificateError):
        services.reissue_certificate(certificate=old, actor=ilo_admin)
    assert services.request_certificate(enrolment=world.enrolment).pk == new.pk


def test_completion_through_the_owner_service_requests_the_certificate(
    delivered, trainer, factory_manager, committed
):
    from training.services.enrolment import complete_enrolment

    with committed():
        complete_enrolment(enrolment=delivered, actor=trainer)
    certificate = delivered.certificates.get()
    assert certificate.status == Certificate.Status.ISSUED
    response = client_for(factory_manager).get(f"/training/certificates/{certificate.pk}/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_rendering_failures_are_visible_to_ilo_admins(
    world, admin_client, django_capture_on_commit_callbacks
):
    enrolment = complete(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = services.request_certificate(enrolment=enrolment)
    Certificate.objects.filter(pk=certificate.pk).update(
        attempts=6, last_error="OSError: no space left on device"
    )
    page = admin_client.get("/admin/training/certificate/?status__exact=pending")
    assert "OSError: no space left on device" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/training/certificate/",
            {"action": "render_again", "_selected_action": [certificate.pk]},
        )
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED


def test_codes_are_unguessable_and_readable():
    from training.models import new_certificate_code

    codes = {new_certificate_code() for _ in range(2000)}
    assert len(codes) == 2000
    alphabet = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")  # no 0/O, 1/I look-alikes
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= alphabet
    # 16 characters from 32 symbols: 80 bits; every symbol turns up.
    assert set("".join(codes).replace("-", "")) == alphabet


def test_worker_children_are_recycled_and_tasks_acknowledged_late_by_default():
    """The settings (a real prefork worker recycling its child: tests/score_portal/
    test_worker.py)."""
    from score_portal.celery import app

    assert app.conf.worker_max_tasks_per_child == 1000
    assert app.conf.task_acks_late
