"""The outbox sweep: every stuck email is queued again and still sent exactly once."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from score_portal import emails
from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email, sweep_outbox

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


def _sent_to(address: str) -> int:
    return sum(1 for message in mail.outbox if address in message.to)


def test_a_stale_sending_email_is_sent_once_by_the_sweep():
    """A worker claimed the row and was killed before sending (acks_late redelivers the task,
    but the claim is still fresh): after the stale delay the sweep claims it and sends it."""
    email = _email(status=S.SENDING, claimed_at=_minutes_ago(1))
    # The redelivered task finds a fresh claim and leaves it alone.
    assert deliver_email.apply(args=[email.pk]).get() is False
    assert emails.sweep() == 0
    assert mail.outbox == []
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_at=_minutes_ago(11))
    assert emails.sweep() == 1
    assert emails.sweep() == 0
    assert sweep_outbox.apply().get() == 0
    email.refresh_from_db()
    assert email.status == S.SENT
    assert _sent_to(email.to) == 1


def test_queued_emails_are_swept_after_a_minute_and_once(settings):
    email = _email()
    assert emails.sweep() == 0  # its own task is probably on its way
    OutboundEmail.objects.filter(pk=email.pk).update(created_at=_minutes_ago(2))
    assert emails.sweep() == 1
    assert emails.sweep() == 0
    assert _sent_to(email.to) == 1


def test_the_sweep_queues_and_delivery_claims_so_a_double_queue_sends_once(monkeypatch):
    """Two sweeps racing (or the sweep racing the original task) queue the same row twice;
    the claim lets only one of them send."""
    email = _email(created_at=_minutes_ago(2))
    queued: list[int] = []
    monkeypatch.setattr(emails, "_enqueue", lambda pk: queued.append(pk) or True)
    assert emails.sweep() == 1
    assert emails.sweep() == 1  # nothing claimed yet: queued again
    monkeypatch.undo()
    results = [emails.deliver(pk) for pk in queued]
    assert results == [True, False]
    assert _sent_to(email.to) == 1


def test_failed_emails_are_retried_until_the_last_attempt(settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    retry = _email("retry@example.org", status=S.FAILED, attempts=2, claimed_at=_minutes_ago(6))
    given_up = _email("gone@example.org", status=S.FAILED, attempts=3, claimed_at=_minutes_ago(6))
    recent = _email("recent@example.org", status=S.FAILED, attempts=1, claimed_at=_minutes_ago(1))
    assert emails.sweep() == 1
    retry.refresh_from_db()
    assert retry.status == S.SENT and retry.attempts == 3
    given_up.refresh_from_db()
    recent.refresh_from_db()
    assert (given_up.status, recent.status) == (S.FAILED, S.FAILED)
    assert [m.to for m in mail.outbox] == [["retry@example.org"]]


def test_sent_emails_are_never_swept():
    _email(status=S.SENT, sent_at=_minutes_ago(30), created_at=_minutes_ago(30))
    assert emails.sweep() == 0


def test_the_sweep_stops_while_the_broker_is_down(monkeypatch):
    for n in range(3):
        _email(f"person{n}@example.org", created_at=_minutes_ago(5))
    monkeypatch.setattr(emails, "_enqueue", lambda pk: False)
    assert emails.sweep() == 0
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


def test_a_mail_connection_dropped_while_idle_is_opened_again(monkeypatch):
    import smtplib

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
    assert dropped.closed
    assert _sent_to(email.to) == 1
    email.refresh_from_db()
    assert email.status == S.SENT and email.attempts == 1


def test_a_fresh_connection_that_fails_records_the_failure(monkeypatch):
    import smtplib

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("refused")

    monkeypatch.setattr(emails, "_mail_connection", None)
    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    email = _email()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        emails.deliver(email.pk)
    email.refresh_from_db()
    assert email.status == S.FAILED and "refused" in email.last_error
