"""Completion certificates: requested with the completion, rendered by a worker, emailed once
the PDF exists, revoked or reissued by the ILO.

A certificate's code exists before its PDF: ``request_certificate`` writes the row in the
caller's transaction and queues the rendering after commit. The render claims the row with a
conditional update, so a task run twice renders once; a worker that died mid-render leaves
a stale claim that a later run (retry or the periodic sweep) takes over.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from score_portal.access import can_manage_certificates
from score_portal.celery import publish
from score_portal.emails import queue_email
from score_portal.scope import scope_of
from training import pdf
from training.models import Certificate, Cohort, Enrolment

if TYPE_CHECKING:
    from score_portal.models import User


C = Certificate.Status
LIVE = (C.PENDING, C.ISSUED)
# A render that has not finished after this long belongs to a worker that died.
RENDER_STALE_AFTER = datetime.timedelta(minutes=10)
# The sweep stops re-queueing a certificate after this many attempts (ILO admins see it).
MAX_RENDER_ATTEMPTS = 6


class CertificateError(Exception):
    """A certificate rule was broken; the message is for the person who tried."""


def request_certificate(*, enrolment: Enrolment) -> Certificate:
    """Create the completed enrolment's certificate (its code included) and queue its rendering
    after commit. Idempotent: an enrolment's live certificate is returned as it is."""
    if enrolment.status != Enrolment.Status.COMPLETED:
        raise CertificateError(_("Only a completed enrolment receives a certificate."))
    live = Certificate.objects.filter(enrolment=enrolment, status__in=LIVE).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(enrolment=enrolment)
    except IntegrityError:
        # A concurrent request created it first (one live certificate per enrolment).
        return Certificate.objects.get(enrolment=enrolment, status__in=LIVE)
    _queue_render(certificate)
    return certificate


def render_certificate(*, certificate_id: int) -> bool:
    """Render, store and issue one pending certificate, then email the factory's managers.

    Returns False when there is nothing to do (already issued, or another worker holds it).
    A rendering error is recorded on the row and raised, for the task to retry.
    """
    now = timezone.now()
    claimed = (
        Certificate.objects.filter(pk=certificate_id, status=C.PENDING)
        .filter(
            Q(render_started_at__isnull=True) | Q(render_started_at__lt=now - RENDER_STALE_AFTER)
        )
        .update(render_started_at=now, render_attempts=F("render_attempts") + 1)
    )
    if not claimed:
        return False
    # Two queries, not one of nine tables: PostgreSQL spends longer choosing the order of nine
    # joins (~5 ms) than running either query.
    certificate = (
        Certificate.objects.select_related(
            "enrolment__factory", "enrolment__module", "enrolment__partnership__partner"
        )
        .prefetch_related(
            Prefetch("enrolment__cohort", Cohort.objects.select_related("trainer", "provider"))
        )
        .order_by()
        .get(pk=certificate_id)
    )
    certificate.issued_at = now
    try:
        data = pdf.certificate_pdf(certificate)
        name = default_storage.save(
            f"certificates/{now:%Y}/{certificate.code}.pdf", ContentFile(data)
        )
    except Exception as exc:
        Certificate.objects.filter(pk=certificate_id, render_started_at=now).update(
            render_started_at=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    with transaction.atomic():
        issued = Certificate.objects.filter(
            pk=certificate_id, status=C.PENDING, render_started_at=now
        ).update(status=C.ISSUED, pdf=name, issued_at=now, last_error="")
        if not issued:
            # Our claim went stale and another worker took over: keep only its file.
            transaction.on_commit(lambda: default_storage.delete(name))
            return False
        certificate.status = C.ISSUED
        certificate.pdf.name = name
        _notify_issued(certificate)
    return True


def sweep_certificates(*, now: datetime.datetime | None = None) -> int:
    """Queue again the renders that never started (broker down at completion) or whose
    worker died. Returns how many were queued."""
    now = now or timezone.now()
    due = (
        Certificate.objects.filter(status=C.PENDING, render_attempts__lt=MAX_RENDER_ATTEMPTS)
        .filter(
            Q(render_started_at__isnull=True, created_at__lt=now - datetime.timedelta(minutes=1))
            | Q(render_started_at__lt=now - RENDER_STALE_AFTER)
        )
        .values_list("pk", flat=True)
        .order_by("pk")[:500]
    )
    queued = 0
    for pk in list(due):
        if not _enqueue_render(pk):
            break  # the broker is down: the next sweep tries again
        queued += 1
    return queued


@transaction.atomic
def revoke_certificate(*, certificate: Certificate, actor: User, reason: str) -> Certificate:
    """The ILO revokes a certificate; its code then verifies as revoked."""
    if not can_manage_certificates(scope_of(actor)):
        raise CertificateError(_("Only ILO administrators may revoke a certificate."))
    if not reason.strip():
        raise CertificateError(_("Please give the reason for the revocation."))
    locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if locked.status not in LIVE:
        raise CertificateError(
            _("This certificate is already %(status)s.")
            % {"status": locked.get_status_display().lower()}
        )
    locked.status = C.REVOKED
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor
    locked.revocation_reason = reason.strip()
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason"])
    return locked


@transaction.atomic
def reissue_certificate(*, certificate: Certificate, actor: User) -> Certificate:
    """The ILO reissues a certificate: a new one with a new code is rendered and emailed; the
    old code verifies as replaced."""
    if not can_manage_certificates(scope_of(actor)):
        raise CertificateError(_("Only ILO administrators may reissue a certificate."))
    old = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if old.status not in (C.ISSUED, C.REVOKED):
        raise CertificateError(_("Only an issued or revoked certificate can be reissued."))
    if old.enrolment.status != Enrolment.Status.COMPLETED:
        raise CertificateError(_("Only a completed enrolment receives a certificate."))
    # Leave the live set first: one live certificate per enrolment (database constraint).
    old.status = C.REPLACED
    old.save(update_fields=["status"])
    new = Certificate.objects.create(enrolment=old.enrolment)
    old.replaced_by = new
    old.save(update_fields=["replaced_by"])
    _queue_render(new)
    return new


def retry_rendering(*, certificate: Certificate) -> bool:
    """Give a certificate whose rendering kept failing a fresh set of attempts."""
    updated = Certificate.objects.filter(pk=certificate.pk, status=C.PENDING).update(
        render_attempts=0, render_started_at=None
    )
    if updated:
        _queue_render(certificate)
    return bool(updated)


def record_missing_pdf(*, certificate: Certificate, problem: str) -> None:
    """Note on the certificate that its PDF is gone from storage: the admin's certificate list
    shows the last error, and an ILO administrator reissues the certificate (a new PDF)."""
    Certificate.objects.filter(pk=certificate.pk).update(
        last_error=f"Missing PDF: {problem}"[:2000]
    )


# --- Internals ----------------------------------------------------------------------------


def _queue_render(certificate: Certificate) -> None:
    certificate_id = certificate.pk
    transaction.on_commit(lambda: _enqueue_render(certificate_id))


def _enqueue_render(certificate_id: int) -> bool:
    from training.tasks import render_certificate

    return publish(render_certificate, certificate_id)  # the row stays pending if not


def _notify_issued(certificate: Certificate) -> None:
    from score_portal.models import User

    enrolment = certificate.enrolment
    managers = User.objects.filter(
        managed_factories__factory_id=enrolment.factory_id, is_active=True
    ).order_by("pk")
    for person in managers:
        queue_email(
            to=person.email,
            template="certificate_issued",
            context={
                "certificate": certificate,
                "enrolment": enrolment,
                "recipient": person,
                "verify_url": pdf.verify_url(certificate),
            },
            language=person.language or enrolment.factory.language or settings.LANGUAGE_CODE,
        )
