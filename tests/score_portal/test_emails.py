import smtplib

import pytest
from django.core import mail

from score_portal.emails import deliver, queue_email, store_email
from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email

pytestmark = pytest.mark.django_db


def _queued(**overrides) -> OutboundEmail:
    fields = {
        "to": "manager@factory.example.org",
        "subject": "Hello",
        "body_text": "Body",
        "body_html": "<p>Body</p>",
        "template": "test",
        "language": "en",
    }
    return store_email(**{**fields, **overrides})


def test_email_is_delivered_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = _queued()
    assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.sent_at is not None
    assert mail.outbox[0].alternatives[0][0] == "<p>Body</p>"


def test_running_the_task_twice_sends_once():
    email = _queued()
    assert deliver_email.apply(args=[email.pk]).get() is True
    assert deliver_email.apply(args=[email.pk]).get() is False
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.attempts == 1


def test_a_resend_after_a_crash_carries_the_same_message_id(settings):
    """A worker killed after the mail server accepted the message but before the row was
    marked sent: the email goes out again, as the same message (receivers can drop it)."""
    settings.SITE_URL = "https://portal.example.org"
    email = _queued()
    other = _queued(to="someone.else@example.org")
    assert deliver(email.pk) is True
    # The crash: the row is back as the sweep leaves a stale claim, waiting to be sent.
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundEmail.Status.QUEUED, sent_at=None, claimed_at=None
    )
    assert deliver(email.pk) is True
    assert deliver(other.pk) is True
    first, second, third = (m.message()["Message-ID"] for m in mail.outbox)
    email.refresh_from_db()
    assert first == second == email.message_id
    assert first.endswith("@portal.example.org>")
    assert third == other.message_id != first


def test_smtp_failure_is_recorded_and_retried(settings, monkeypatch):
    email = _queued()

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("mail server went away")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        deliver(email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert "mail server went away" in email.last_error
    monkeypatch.undo()
    # A failed email can be claimed again by the retry, and then it goes out once.
    assert deliver(email.pk) is True
    assert len(mail.outbox) == 1


def test_queue_email_renders_in_the_recipients_language(tmp_path, settings):
    template_dir = tmp_path / "emails" / "greeting"
    template_dir.mkdir(parents=True)
    (template_dir / "subject.txt").write_text("{% load i18n %}{% translate 'Home' %}\n")
    (template_dir / "body.txt").write_text("{% load i18n %}{% translate 'Yes' %}, {{ name }}")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    email = queue_email(
        to="x@example.org", template="greeting", context={"name": "Ayşe"}, language="tr"
    )
    assert email.language == "tr"
    assert email.body_text == "Evet, Ayşe"  # Django ships Turkish for "Yes"
    assert email.body_html == ""
