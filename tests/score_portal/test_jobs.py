"""The one mechanism for background work (score_portal.jobs): claim, finish or fail, the
sweep, the retry, and the admin's "Background jobs" page. Shown on outbox rows (and supplier
imports where a kind with two steps or a final failure matters)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reporting.tasks import render_results_report
from score_portal import jobs
from score_portal.celery import app as celery_app
from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email, deliver_emails
from suppliers.models import SupplierImport
from suppliers.tasks import analyse_supplier_import, write_supplier_import
from tests.conftest import client_for
from training.tasks import render_certificate
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.django_db
S = OutboundEmail.Status


def _email(to: str = "someone@example.org", **fields) -> OutboundEmail:
    email = OutboundEmail.objects.create(
        to=to, subject="Hello", body_text="Body", template="test", language="en"
    )
    if fields:
        OutboundEmail.objects.filter(pk=email.pk).update(**fields)
        email.refresh_from_db()
    return email


def _ago(minutes: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, object]]:
    """What the mechanism publishes, instead of publishing it."""
    sent: list[tuple[str, object]] = []
    monkeypatch.setattr(jobs, "publish", lambda task, arg: sent.append((task, arg)) or True)
    return sent


# --- Claims -----------------------------------------------------------------------------------


def test_a_second_claim_loses_and_the_first_reads_its_columns_in_the_same_statement():
    email = _email("first@example.org")
    first = jobs.claim(OutboundEmail, email.pk, returning=("to", "subject"))
    assert first is not None
    assert first.values == ("first@example.org", "Hello") and first.attempts == 1
    assert jobs.claim(OutboundEmail, email.pk) is None
    email.refresh_from_db()
    assert (email.status, email.attempts, email.claimed_at) == (S.SENDING, 1, first.at)


def test_a_stale_claim_is_taken_over_and_the_old_worker_cannot_finish():
    email = _email()
    dead = jobs.claim(OutboundEmail, email.pk, now=_ago(settings.JOB_STALE_MINUTES + 1))
    assert dead is not None
    successor = jobs.claim(OutboundEmail, email.pk)
    assert successor is not None and successor.attempts == 2
    with pytest.raises(jobs.ClaimLost):
        jobs.finish(OutboundEmail, email.pk, dead, sent_at=timezone.now())
    assert jobs.fail(OutboundEmail, email.pk, dead, "late") is False
    jobs.finish(OutboundEmail, email.pk, successor, sent_at=timezone.now())
    email.refresh_from_db()
    assert email.status == S.SENT and email.last_error == ""


def test_a_claim_held_just_under_the_stale_time_is_left_alone():
    email = _email()
    fresh = jobs.stale_after(OutboundEmail) - datetime.timedelta(seconds=30)
    assert jobs.claim(OutboundEmail, email.pk, now=timezone.now() - fresh)
    assert jobs.claim(OutboundEmail, email.pk) is None
    assert jobs.sweep(OutboundEmail) == 0


def test_a_failed_attempt_releases_the_claim_and_is_retried_later(published):
    email = _email()
    held = jobs.claim(OutboundEmail, email.pk)
    assert held is not None
    assert jobs.fail(OutboundEmail, email.pk, held, ConnectionError("refused")) is True
    email.refresh_from_db()
    assert email.status == S.FAILED and email.claimed_at is None
    assert email.last_error == "ConnectionError: refused"
    # The task's own retry may claim it at once; the sweep waits five minutes (retry_after).
    assert email.next_attempt_at > timezone.now() + datetime.timedelta(minutes=4)
    assert jobs.sweep(OutboundEmail) == 0
    later = timezone.now() + datetime.timedelta(minutes=6)
    assert jobs.sweep(OutboundEmail, now=later) == 1
    assert published == [("score_portal.tasks.deliver_emails", [email.pk])]
    assert jobs.claim(OutboundEmail, email.pk) is not None


def test_attempts_exhausted_means_no_claim_and_no_queueing(settings, published):
    settings.JOB_MAX_ATTEMPTS = 2
    email = _email(status=S.FAILED, attempts=2, next_attempt_at=_ago(10), last_error="x")
    assert jobs.claim(OutboundEmail, email.pk) is None
    assert jobs.sweep(OutboundEmail) == 0
    assert published == []


def test_a_job_whose_worker_died_every_time_is_given_up_and_not_queued_again(settings, published):
    settings.JOB_MAX_ATTEMPTS = 2
    email = _email()
    for attempt in (1, 2):
        held = jobs.claim(OutboundEmail, email.pk)
        assert held is not None and held.attempts == attempt
        # The worker dies holding it; the claim goes stale.
        OutboundEmail.objects.filter(pk=email.pk).update(claimed_at=_ago(60))
        jobs.sweep(OutboundEmail)
    email.refresh_from_db()
    assert email.status == S.FAILED and email.claimed_at is None
    assert "stopped 2 times" in email.last_error
    # Handed back once (and queued), then given up: never queued again.
    assert published == [("score_portal.tasks.deliver_emails", [email.pk])]
    assert jobs.sweep(OutboundEmail, now=timezone.now() + datetime.timedelta(hours=1)) == 0
    assert jobs.failed(jobs.kind_of(OutboundEmail)).get() == email


# --- The sweep --------------------------------------------------------------------------------


def test_the_sweep_queues_rows_waiting_past_their_next_attempt_in_batches(published):
    fresh = _email("fresh@example.org")
    late = [_email(f"late{n}@example.org", next_attempt_at=_ago(1)) for n in range(30)]
    assert jobs.sweep(OutboundEmail) == 30
    assert [len(ids) for _task, ids in published] == [25, 5]
    queued = {pk for _task, ids in published for pk in ids}
    assert queued == {e.pk for e in late} and fresh.pk not in queued


def test_the_sweep_hands_a_stale_job_back_to_its_own_step(brand, published):
    """An import has two steps: one that died while writing is written again, not re-read."""
    reading = SupplierImport.objects.create(
        brand=brand, file="a.csv", original_filename="a.csv", status="analysing"
    )
    writing = SupplierImport.objects.create(
        brand=brand, file="b.csv", original_filename="b.csv", status="importing"
    )
    SupplierImport.objects.update(claimed_at=_ago(settings.JOB_STALE_MINUTES + 1), attempts=1)
    assert jobs.sweep(SupplierImport) == 2
    reading.refresh_from_db()
    writing.refresh_from_db()
    assert (reading.status, writing.status) == ("uploaded", "confirmed")
    assert sorted(published) == sorted(
        [
            ("suppliers.tasks.analyse_supplier_import", reading.pk),
            ("suppliers.tasks.write_supplier_import", writing.pk),
        ]
    )


def test_a_final_failure_is_not_swept(brand, published):
    SupplierImport.objects.create(
        brand=brand,
        file="a.csv",
        original_filename="a.csv",
        status="failed",
        next_attempt_at=_ago(10),
    )
    assert jobs.sweep(SupplierImport) == 0 and published == []


def test_with_the_broker_down_publish_says_so_and_the_row_waits_for_the_sweep(
    broker_down, django_capture_on_commit_callbacks
):
    assert jobs.publish("score_portal.tasks.deliver_emails", [1]) is False
    with django_capture_on_commit_callbacks(execute=True):
        email = _email()
        jobs.queue_after_commit(OutboundEmail, email.pk)  # as store_email does
    email.refresh_from_db()
    assert email.status == S.QUEUED and mail.outbox == []
    later = timezone.now() + datetime.timedelta(minutes=2)
    assert jobs.sweep(now=later) == 0  # still down: nothing lost
    broker_down()  # back (tasks in-process here)
    assert jobs.sweep(now=later) == 1
    email.refresh_from_db()
    assert email.status == S.SENT and len(mail.outbox) == 1


def test_every_job_task_stops_itself_before_its_claim_goes_stale():
    steps = {step: kind for kind in jobs.kinds() for step in kind.steps}
    assert {step.task for step in steps} == {
        "score_portal.tasks.deliver_emails",
        "training.tasks.render_certificate",
        "suppliers.tasks.analyse_supplier_import",
        "suppliers.tasks.write_supplier_import",
        "reporting.tasks.render_results_report",
        "webhooks.tasks.deliver_webhook",
    }
    tasks = [(celery_app.tasks[step.task], kind) for step, kind in steps.items()]
    tasks.append((deliver_email, jobs.kind_of(OutboundEmail)))
    for task, kind in tasks:
        assert task.acks_late
        assert 0 < task.soft_time_limit < task.time_limit < kind.stale_after.total_seconds()
    # An email is handed on two minutes after its worker died, not JOB_STALE_MINUTES: the
    # window in which a crash after the mail server accepted it causes a second send.
    assert jobs.stale_after(OutboundEmail) == datetime.timedelta(minutes=2)
    assert {deliver_emails, render_certificate, analyse_supplier_import} <= {t for t, _ in tasks}
    assert write_supplier_import in {t for t, _ in tasks}
    assert render_results_report in {t for t, _ in tasks}
    assert deliver_webhook in {t for t, _ in tasks}
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["score_portal.tasks.sweep_jobs"] <= 60


# --- Retry, and the admin page ----------------------------------------------------------------


def test_retry_gives_fresh_attempts_but_leaves_a_live_worker_alone(
    settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_ATTEMPTS = 3
    given_up = _email("gone@example.org", status=S.FAILED, attempts=3, last_error="SMTP 550")
    busy = _email("busy@example.org")
    assert jobs.claim(OutboundEmail, busy.pk) is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.retry(OutboundEmail, [given_up.pk, busy.pk]) == 1
    given_up.refresh_from_db()
    busy.refresh_from_db()
    assert given_up.status == S.SENT and given_up.attempts == 1
    assert busy.status == S.SENDING
    assert [m.to for m in mail.outbox] == [["gone@example.org"]]


def test_the_ilo_admin_sees_failed_and_stuck_jobs_of_every_kind_and_retries_one(
    ilo_admin, brand, django_capture_on_commit_callbacks
):
    failed = _email("failing@example.org", status=S.FAILED, attempts=8, last_error="SMTP 550 nope")
    sending = _email("busy@example.org")
    assert jobs.claim(OutboundEmail, sending.pk) is not None  # a live worker: not listed
    sent = _email("sent@example.org", status=S.SENT, sent_at=timezone.now())
    stuck = SupplierImport.objects.create(
        brand=brand,
        file="suppliers.csv",
        original_filename="suppliers.csv",
        next_attempt_at=_ago(settings.JOB_STALE_MINUTES + 5),
    )
    client = client_for(ilo_admin)
    index = client.get(reverse("admin:index"))
    assert reverse("background_jobs") in index.content.decode()
    page = client.get(reverse("background_jobs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "SMTP 550 nope" in html and "failing@example.org" in html
    assert reverse("admin:score_portal_outboundemail_change", args=[failed.pk]) in html
    assert reverse("admin:suppliers_supplierimport_change", args=[stuck.pk]) in html
    assert "busy@example.org" not in html and "sent@example.org" not in html
    assert sent.pk

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("background_jobs"), {"job": [f"score_portal.outboundemail:{failed.pk}"]}
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == S.SENT
    assert [m.to for m in mail.outbox] == [["failing@example.org"]]
    assert "failing@example.org" not in client.get(reverse("background_jobs")).content.decode()


def test_the_jobs_page_is_for_admin_staff_only(brand_staff, django_user_model):
    assert client_for(brand_staff).get(reverse("background_jobs")).status_code == 302
    staff = django_user_model.objects.create_user("staff@example.org", is_staff=True)
    assert client_for(staff).get(reverse("background_jobs")).status_code == 403


def test_a_fresh_process_finds_every_job_task_by_name():
    """A web process imports no tasks.py (a worker does, at start): naming a task must still
    find it, or every request would leave its work to the sweep."""
    names = sorted(step.task for kind in jobs.kinds() for step in kind.steps)
    script = (
        "import django; django.setup()\n"
        "import sys\n"
        "from score_portal import jobs\n"
        "assert 'suppliers.tasks' not in sys.modules\n"
        f"print([jobs.task(name).name for name in {names!r}])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "DJANGO_SETTINGS_MODULE": "score_portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(names)
