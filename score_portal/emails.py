"""Every email of the portal goes through here: rendered in the recipient's language,
written to the outbox in the caller's transaction, and delivered by a worker after commit."""

from __future__ import annotations

import datetime
import logging
import smtplib
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from score_portal.models import OutboundEmail

logger = logging.getLogger(__name__)


def queue_email(
    *, to: str, template: str, context: dict[str, Any], language: str | None = None
) -> OutboundEmail:
    """Render ``templates/emails/<template>/`` (subject.txt, body.txt, optional body.html)
    in ``language`` and queue it; the worker sends it once the transaction commits."""
    language = language or settings.LANGUAGE_CODE
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject: str = render_to_string(f"emails/{template}/subject.txt", context)
        text: str = render_to_string(f"emails/{template}/body.txt", context)
        html: str
        try:
            html = render_to_string(f"emails/{template}/body.html", context)
        except TemplateDoesNotExist:
            html = ""
    return store_email(
        to=to,
        subject=" ".join(subject.split()),
        body_text=text.strip(),
        body_html=html.strip(),
        template=template,
        language=language,
    )


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
    _enqueue_after_commit(email.pk)
    return email


# Emails written in one transaction (a brand enrolling fifty factories) are delivered by
# tasks of up to this many: one task per email costs more than sending it. Each email is
# still claimed on its own, so a task run twice sends each once.
BATCH_SIZE = 25


def _enqueue_after_commit(email_id: int) -> None:
    """Queue the email's delivery when the transaction commits, together with the others of
    the same transaction: the first of their on-commit callbacks publishes them all, in
    batches, and the others find nothing left to do. (An id left over from a rolled-back
    savepoint goes out with the commit and is skipped: its row does not exist.)"""
    connection = transaction.get_connection()
    pending: list[int] = connection.__dict__.setdefault("_score_outbox_pending", [])
    if not connection.run_on_commit:
        # No callback waits for a commit, so what is left came from a rolled-back transaction.
        pending.clear()
    pending.append(email_id)
    transaction.on_commit(partial(_flush_pending, connection))


def _flush_pending(connection: Any) -> None:
    pending: list[int] = connection.__dict__.get("_score_outbox_pending", [])
    if not pending:
        return
    email_ids = list(pending)
    pending.clear()
    _enqueue_many(email_ids)


def _enqueue_many(email_ids: list[int]) -> bool:
    """Publish delivery tasks for ``email_ids`` in batches; False if the broker is down."""
    for start in range(0, len(email_ids), BATCH_SIZE):
        batch = email_ids[start : start + BATCH_SIZE]
        if not _enqueue(batch):
            return False
    return True


def _enqueue(email_ids: int | list[int]) -> bool:
    """Publish the delivery of ``email_ids``; False if the broker is down (the rows are safe in
    the outbox and the periodic sweep sends them once it is back)."""
    from score_portal.celery import publish
    from score_portal.tasks import deliver_email, deliver_emails

    if isinstance(email_ids, int):
        return publish(deliver_email, email_ids)
    if len(email_ids) == 1:
        return publish(deliver_email, email_ids[0])
    return publish(deliver_emails, email_ids)


def _stale_before(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(minutes=settings.EMAIL_STALE_SENDING_MINUTES)


def deliver(email_id: int) -> bool:
    """Send one queued email. Returns False if another worker already claimed it.

    The row is claimed with a conditional update, so running this twice sends once. A row
    left SENDING by a worker that died (claimed longer ago than EMAIL_STALE_SENDING_MINUTES)
    may be claimed again.
    """
    claimed = _claim(email_id, timezone.now())
    if claimed is None:
        return False
    to, subject, body_text, body_html, attempts = claimed
    message = EmailMultiAlternatives(
        subject=subject, body=body_text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    try:
        _send(message)
    except Exception as exc:
        OutboundEmail.objects.filter(pk=email_id).update(
            status=OutboundEmail.Status.FAILED,
            attempts=attempts + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    OutboundEmail.objects.filter(pk=email_id).update(
        status=OutboundEmail.Status.SENT, attempts=attempts + 1, sent_at=timezone.now()
    )
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
        except TRANSIENT_ERRORS as exc:
            transient = exc
        except Exception:
            logger.exception("Outbound email %s failed", email_id)  # recorded on the row
    if transient is not None:
        raise transient
    return sent


def _claim(email_id: int, now: datetime.datetime) -> tuple[str, str, str, str, int] | None:
    """Claim the row and read what is needed to send it, in one statement (UPDATE ...
    RETURNING: one round trip to the database instead of two, for every email)."""
    S = OutboundEmail.Status
    qn = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"UPDATE {qn(OutboundEmail._meta.db_table)} SET status = %s, claimed_at = %s "
        "WHERE id = %s AND (status IN (%s, %s) OR (status = %s AND claimed_at < %s)) "
        f"RETURNING {qn('to')}, subject, body_text, body_html, attempts"
    )
    params = [S.SENDING, adapt(now), email_id, S.QUEUED, S.FAILED, S.SENDING]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The claim needs no disk flush of its own: the SENT mark's commit flushes it
            # too. A database crash before that loses only the claim, which reopens the
            # window a worker dying mid-send has anyway; it saves one flush per email.
            cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(sql, [*params, adapt(_stale_before(now))])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3], int(row[4]))


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


# Failed emails wait this long after their last attempt before the sweep tries again (the
# task's own retries come sooner); queued ones this long after being written.
SWEEP_QUEUED_AFTER = datetime.timedelta(minutes=1)
SWEEP_FAILED_AFTER = datetime.timedelta(minutes=5)
SWEEP_BATCH = 2000


def sweep(*, now: datetime.datetime | None = None) -> int:
    """Queue again every email that is stuck: still queued a minute after it was written
    (the broker was down after commit), left SENDING by a worker that died, or failed with
    attempts left. Delivery claims each row, so an email queued twice is still sent once.
    Returns how many were queued; stops early while the broker is unreachable."""
    now = now or timezone.now()
    stuck = (
        OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.QUEUED, created_at__lt=now - SWEEP_QUEUED_AFTER)
            | Q(status=OutboundEmail.Status.SENDING, claimed_at__lt=_stale_before(now))
            | Q(
                status=OutboundEmail.Status.FAILED,
                attempts__lt=settings.EMAIL_MAX_ATTEMPTS,
                claimed_at__lt=now - SWEEP_FAILED_AFTER,
            )
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    queued = 0
    ids = list(stuck)
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        if not _enqueue(batch):
            break
        queued += len(batch)
    if queued:
        logger.info("Outbox sweep queued %s stuck email(s)", queued)
    return queued
