"""Every email of the portal goes through here: rendered in the recipient's language,
written to the outbox in the caller's transaction, and delivered by a worker after commit."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from score_portal import jobs, notices
from score_portal.models import OutboundEmail, User

logger = logging.getLogger(__name__)


def queue_email(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str | None = None,
    link: str = "",
    kind: str | None = None,
) -> OutboundEmail | None:
    """Render ``templates/emails/<template>/`` (subject.txt, body.txt, optional body.html)
    in ``language`` and queue it; the worker sends it once the transaction commits.

    When ``to`` is a person's address (case-insensitive), the same transaction puts a notice
    in their inbox (score_portal.notices), titled with the subject and pointing to ``link``
    (a path on the portal: the object the email is about). ``kind`` names the kind of
    notice when the template's registered kind is not the right one. The email is not
    queued (None is returned) when the person reads that kind in the portal only."""
    language = language or settings.LANGUAGE_CODE
    notice_kind = notices.get_kind(kind) if kind else notices.kind_for(template)
    recipient = (
        User.objects.filter(email__iexact=to).select_related("notice_settings").first()
        if notice_kind.notice or notice_kind.email_optional
        else None
    )
    send = notices.wants_email(recipient, notice_kind)
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{template}/subject.txt", context).split())
        text = html = ""
        if send:
            text = render_to_string(f"emails/{template}/body.txt", context)
            try:
                html = render_to_string(f"emails/{template}/body.html", context)
            except TemplateDoesNotExist:
                html = ""
    with transaction.atomic():
        email = (
            store_email(
                to=to,
                subject=subject,
                body_text=text.strip(),
                body_html=html.strip(),
                template=template,
                language=language,
            )
            if send
            else None
        )
        if recipient is not None and notice_kind.notice:
            notices.record_notice(
                recipient=recipient,
                kind=notice_kind,
                template=template,
                context=context,
                language=language,
                subject=subject,
                link=link,
                emailed=send,
            )
    return email


def store_email(
    *, to: str, subject: str, body_text: str, body_html: str, template: str, language: str
) -> OutboundEmail:
    """Write an already-rendered email to the outbox and queue its delivery after commit."""
    email = OutboundEmail.objects.create(
        to=to,
        subject=subject[:300],
        body_text=body_text,
        body_html=body_html,
        template=template,
        language=language,
    )
    # Published after commit, with the other emails of the transaction in tasks of up to 25
    # (the OutboundEmail kind in score_portal/models.py): one task per email costs more than
    # sending it. Each email is still claimed on its own, so a task run twice sends each once.
    jobs.queue_after_commit(OutboundEmail, email.pk)
    return email


def deliver(email_id: int) -> bool:
    """Send one queued email. Returns False if another worker already claimed it.

    The row is claimed first (score_portal.jobs: one UPDATE … RETURNING that also reads what
    is needed to send it: one round trip per email), so running this twice sends once. A
    row left SENDING by a worker that died is claimed again once its claim is stale.
    """
    held = jobs.claim(
        OutboundEmail,
        email_id,
        returning=("to", "subject", "body_text", "body_html", "message_id"),
    )
    if held is None:
        return False
    to, subject, body_text, body_html, message_id = held.values
    message = EmailMultiAlternatives(
        subject=subject,
        body=body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # The row's own Message-ID on every attempt: a second send after a crash (the
        # server accepted the message, the row was not marked) is recognisably the same.
        headers={"Message-ID": message_id} if message_id else None,
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    try:
        _send(message)
    except Exception as exc:
        jobs.fail(OutboundEmail, email_id, held, exc)
        raise
    try:
        jobs.finish(OutboundEmail, email_id, held, sent_at=timezone.now())
    except jobs.ClaimLost:
        # Sent after its claim went stale (a very slow mail server): the sweep had handed it
        # to another worker, which may send it again.
        logger.warning("Outbound email %s was sent after its claim went stale", email_id)
    return True


TRANSIENT_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError)


def deliver_many(email_ids: list[int]) -> int:
    """Send each of ``email_ids`` (each claimed on its own); returns how many were sent. A
    transient failure of one is raised after the others were tried, for the task to retry:
    the ones already sent are then skipped by their claim."""
    sent = 0
    transient: BaseException | None = None
    for email_id in email_ids:
        try:
            sent += deliver(email_id)
        except SoftTimeLimitExceeded:
            # Out of time (jobs.time_limit): the ones not yet claimed stay queued for the
            # sweep rather than risk a hard kill in the middle of a send.
            raise
        except TRANSIENT_ERRORS as exc:
            transient = exc
        except Exception:
            logger.exception("Outbound email %s failed", email_id)  # recorded on the row
    if transient is not None:
        raise transient
    return sent


# One mail-server connection per worker process, reused from one email to the next (opening
# one per email costs more than sending). A connection the server dropped while idle is
# opened again once.
_mail_connection: Any = None


def _send(message: EmailMultiAlternatives) -> None:
    global _mail_connection
    if not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        message.send()  # console, file, memory: a connection costs nothing (a file per email)
        return
    reused = _mail_connection is not None
    if _mail_connection is None:
        _mail_connection = get_connection(fail_silently=False)
        _mail_connection.open()
    message.connection = _mail_connection
    try:
        message.send()
    except (smtplib.SMTPServerDisconnected, ConnectionError, OSError):
        _close_mail_connection()
        if not reused:
            raise
        _mail_connection = get_connection(fail_silently=False)
        _mail_connection.open()
        message.connection = _mail_connection
        message.send()
    except Exception:
        _close_mail_connection()
        raise


@receiver(setting_changed)
def _forget_mail_connection(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("EMAIL_"):
        _close_mail_connection()


def _close_mail_connection() -> None:
    global _mail_connection
    if _mail_connection is not None:
        try:
            _mail_connection.close()
        except Exception:
            logger.debug("Closing the mail connection failed", exc_info=True)
        _mail_connection = None
