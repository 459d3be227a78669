"""The outbox through the job mechanism (score_portal.jobs): every stuck email is queued again
by the sweep and still sent exactly once."""

from __future__ import annotations

import datetime
import smtplib

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from score_portal import emails, jobs
from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email, deliver_emails, sweep_jobs

pytestmark = pytest.mark.django_db

S = OutboundEmail.Status


def _email(to: str = "manager@factory.example.org", **fields) -> OutboundEmail:
    email = OutboundEmail.objects.create(
        to=to, subject="Hello", body_text="Body", template="test", language="en"
    )
    if fields:
        OutboundEmail.objects.filter(pk=email.pk).update(**fields)
        email.refresh_from_db()
    return email


def _minutes_ago(minutes: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


def _sweep(**kwargs) -> int:
    return jobs.sweep(OutboundEmail, **kwargs)


def _stale() -> datetime.datetime:
    return _minutes_ago(settings.JOB_STALE_MINUTES + 1)


def _sent_to(address: str) -> int:
    return sum(1 for message in mail.outbox if address in message.to)


def test_a_stale_sending_email_is_sent_once_by_the_sweep():
    """A worker claimed the row and was killed before sending (acks_late redelivers the task,
    but the claim is still fresh): after the stale delay the sweep claims it and sends it."""
    email = _email(status=S.SENDING, claimed_at=_minutes_ago(1))
    # The redelivered task finds a fresh claim and leaves it alone.
    assert deliver_email.apply(args=[email.pk]).get() is False
    assert _sweep() == 0
    assert mail.outbox == []
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_at=_stale())
    assert _sweep() == 1
    assert _sweep() == 0
    assert sweep_jobs.apply().get() == 0
    email.refresh_from_db()
    assert email.status == S.SENT
    assert _sent_to(email.to) == 1


def test_queued_emails_are_swept_after_a_minute_and_once(settings):
    email = _email()
    assert _sweep() == 0  # its own task is probably on its way
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=_minutes_ago(1))
    assert _sweep() == 1
    assert _sweep() == 0
    assert _sent_to(email.to) == 1


def test_the_sweep_queues_and_delivery_claims_so_a_double_queue_sends_once(monkeypatch):
    """Two sweeps racing (or the sweep racing the original task) queue the same row twice;
    the claim lets only one of them send."""
    email = _email(next_attempt_at=_minutes_ago(1))
    queued: list[int] = []
    monkeypatch.setattr(jobs, "publish", lambda task, ids: queued.extend(ids) or True)
    assert _sweep() == 1
    assert _sweep() == 1  # nothing claimed yet: queued again
    monkeypatch.undo()
    results = [emails.deliver(pk) for pk in queued]
    assert results == [True, False]
    assert _sent_to(email.to) == 1


def test_failed_emails_are_retried_until_the_last_attempt(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    # A failed attempt sets the next one five minutes later (jobs.fail).
    retry = _email(
        "retry@example.org", status=S.FAILED, attempts=2, next_attempt_at=_minutes_ago(1)
    )
    given_up = _email(
        "gone@example.org", status=S.FAILED, attempts=3, next_attempt_at=_minutes_ago(1)
    )
    recent = _email(
        "recent@example.org", status=S.FAILED, attempts=1, next_attempt_at=_minutes_ago(-4)
    )
    assert _sweep() == 1
    retry.refresh_from_db()
    assert retry.status == S.SENT and retry.attempts == 3
    given_up.refresh_from_db()
    recent.refresh_from_db()
    assert (given_up.status, recent.status) == (S.FAILED, S.FAILED)
    assert [m.to for m in mail.outbox] == [["retry@example.org"]]


def test_sent_emails_are_never_swept():
    _email(status=S.SENT, sent_at=_minutes_ago(30), created_at=_minutes_ago(30))
    assert _sweep() == 0


def test_the_sweep_stops_while_the_broker_is_down(monkeypatch):
    for n in range(3):
        _email(f"person{n}@example.org", next_attempt_at=_minutes_ago(4))
    monkeypatch.setattr(jobs, "publish", lambda task, ids: False)
    assert _sweep() == 0
    assert OutboundEmail.objects.filter(status=S.QUEUED).count() == 3


def test_the_admin_shows_delivery_status_to_ilo_admins(admin_client):
    _email("failing@example.org", status=S.FAILED, attempts=2, last_error="SMTPError: 451")
    page = admin_client.get("/admin/score_portal/outboundemail/").content.decode()
    assert "failing@example.org" in page
    assert "SMTPError: 451" in page
    page = admin_client.get("/admin/score_portal/outboundemail/?status__exact=failed")
    assert page.status_code == 200


def test_the_admin_sends_a_failed_email_again(admin_client, django_capture_on_commit_callbacks):
    email = _email("failing@example.org", status=S.FAILED, attempts=8, last_error="x")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/score_portal/outboundemail/",
            {"action": "send_again", "_selected_action": [email.pk]},
        )
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == S.SENT
    assert _sent_to("failing@example.org") == 1


def test_a_mail_connection_dropped_while_idle_is_opened_again(monkeypatch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    fresh = []

    class Fresh:
        def __init__(self, **kwargs):
            fresh.append(self)

        def open(self):
            pass

        def send_messages(self, messages):
            mail.outbox.extend(messages)
            return len(messages)

        def close(self):
            pass

    monkeypatch.setattr(emails, "get_connection", lambda **kwargs: Fresh())

    class Dropped:
        closed = False

        def send_messages(self, messages):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

        def close(self):
            self.closed = True

    dropped = Dropped()
    monkeypatch.setattr(emails, "_mail_connection", dropped)
    email = _email()
    assert emails.deliver(email.pk) is True
    assert dropped.closed and len(fresh) == 1
    assert _sent_to(email.to) == 1
    # The next email reuses the fresh connection.
    assert emails.deliver(_email("second@example.org").pk) is True
    assert len(fresh) == 1 and _sent_to("second@example.org") == 1
    email.refresh_from_db()
    assert email.status == S.SENT and email.attempts == 1


def test_a_fresh_connection_that_fails_records_the_failure(monkeypatch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    class Refusing:
        def open(self):
            pass

        def send_messages(self, messages):
            raise smtplib.SMTPServerDisconnected("refused")

        def close(self):
            pass

    monkeypatch.setattr(emails, "_mail_connection", None)
    monkeypatch.setattr(emails, "get_connection", lambda **kwargs: Refusing())
    email = _email()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        emails.deliver(email.pk)
    email.refresh_from_db()
    assert email.status == S.FAILED and "refused" in email.last_error
    assert email.claimed_at is None and email.attempts == 1  # released for the retry


# --- Batches: the emails of one transaction -------------------------------------------------


def _store(n: int, prefix: str = "person") -> list[OutboundEmail]:
    return [
        emails.store_email(
            to=f"{prefix}{i}@example.org",
            subject="Hello",
            body_text="Body",
            body_html="",
            template="test",
            language="en",
        )
        for i in range(n)
    ]


def test_the_emails_of_one_transaction_are_queued_in_batches_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    published: list[list[int]] = []
    monkeypatch.setattr(jobs, "publish", lambda task, ids: published.append(list(ids)) or True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stored = _store(60)
    assert published == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert [len(batch) for batch in published] == [25, 25, 10]
    assert [pk for batch in published for pk in batch] == [e.pk for e in stored]


def test_a_batch_task_run_twice_sends_each_email_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        stored = _store(3)
    ids = [e.pk for e in stored]
    assert deliver_emails.apply(args=[ids]).get() == 3
    assert deliver_emails.apply(args=[ids]).get() == 0
    assert len(mail.outbox) == 3


def test_emails_rolled_back_are_not_sent_and_the_next_ones_are(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                _store(2, prefix="rolled-back")
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
        _store(1, prefix="kept")
    assert [m.to for m in mail.outbox] == [["kept0@example.org"]]
    assert not OutboundEmail.objects.filter(to__startswith="rolled-back").exists()


def test_a_transient_failure_in_a_batch_is_retried_without_resending_the_others(
    monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        stored = _store(3)
    ids = [e.pk for e in stored]
    real = emails._send
    calls = {"n": 0}

    def flaky(message):
        calls["n"] += 1
        if calls["n"] == 2:
            raise smtplib.SMTPServerDisconnected("dropped")
        real(message)

    monkeypatch.setattr(emails, "_send", flaky)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        emails.deliver_many(ids)
    assert len(mail.outbox) == 2
    assert emails.deliver_many(ids) == 1  # the retry sends only the failed one
    assert sorted(m.to[0] for m in mail.outbox) == [f"person{i}@example.org" for i in range(3)]


def test_a_batch_out_of_time_leaves_the_emails_it_did_not_claim_queued(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The task's soft time limit (within the email's two-minute stale time) stops the batch
    at once: the next email is not started, where a hard kill mid-send could double it."""
    with django_capture_on_commit_callbacks(execute=False):
        stored = _store(3)
    real = emails._send
    calls = {"n": 0}

    def slow(message):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SoftTimeLimitExceeded()
        real(message)

    monkeypatch.setattr(emails, "_send", slow)
    with pytest.raises(SoftTimeLimitExceeded):
        emails.deliver_many([e.pk for e in stored])
    statuses = [OutboundEmail.objects.get(pk=e.pk).status for e in stored]
    assert statuses == [S.SENT, S.FAILED, S.QUEUED]
    assert calls["n"] == 2 and len(mail.outbox) == 1
