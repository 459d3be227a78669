"""Completion certificates: requested with the completion, rendered by a worker, emailed once
the PDF exists, revoked or reissued by the ILO.

A certificate's code exists before its PDF: ``request_certificate`` writes the row in the
caller's transaction and queues the rendering after commit. Rendering is a background job
(score_portal.jobs): the render claims the row, so a task run twice renders once; a worker
that died mid-render leaves a stale claim that a later run (retry or the sweep) takes over.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from score_portal import jobs
from score_portal.access import can_manage_certificates
from score_portal.emails import queue_email
from score_portal.models import User
from score_portal.scope import scope_of
from score_portal.transitions import Transitions
from training import chronology, events, pdf
from training.models import Certificate, Cohort, Enrolment

C = Certificate.Status
LIVE = (C.PENDING, C.ISSUED)

# The certificate's lifecycle: every allowed move, and who makes it. The worker's move
# (rendered: pending → issued) is the job's step (``jobs.register`` in training/models.py,
# kept equal to this table by a test); the ILO's are ``revoke_certificate`` and
# ``reissue_certificate``. Pages ask ``allowed_moves`` which buttons to show.
WORKER, ILO = "worker", "ilo"
TRANSITIONS = Transitions(
    {
        (C.PENDING, C.ISSUED): WORKER,
        (C.PENDING, C.REVOKED): ILO,
        (C.ISSUED, C.REVOKED): ILO,
        (C.ISSUED, C.REPLACED): ILO,
        (C.REVOKED, C.REPLACED): ILO,
    }
)


def allowed_moves(certificate: Certificate, user: User) -> list[str]:
    """The statuses ``user`` may move ``certificate`` to now (for the buttons on its page)."""
    return TRANSITIONS.allowed_moves(
        certificate.status, lambda who: who == ILO and can_manage_certificates(scope_of(user))
    )


def _refuse_unless_allowed(certificate: Certificate, to_status: str) -> None:
    if certificate.status == to_status:
        raise CertificateError(
            _("This certificate is already “%(status)s”.")
            % {"status": certificate.get_status_display()}
        )
    if not TRANSITIONS.allows(certificate.status, to_status):
        raise CertificateError(
            _("A certificate in the status “%(status)s” cannot become “%(to)s”.")
            % {"status": certificate.get_status_display(), "to": C(to_status).label}
        )


def _refuse_out_of_order(enrolment: Enrolment) -> None:
    """A certificate is dated on or after the completion and the classroom's last day."""
    refusal = chronology.certificate_refusal(
        completed_on=(
            timezone.localdate(enrolment.completed_at)
            if enrolment.status == Enrolment.Status.COMPLETED and enrolment.completed_at
            else None
        ),
        classroom_end=enrolment.cohort.classroom_end if enrolment.cohort else None,
        issued_on=timezone.localdate(),
    )
    if refusal:
        raise CertificateError(refusal)


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
    _refuse_out_of_order(enrolment)
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
    held = jobs.claim(Certificate, certificate_id)
    if held is None:
        return False
    now = held.at
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
        jobs.fail(Certificate, certificate_id, held, exc)  # released for the retry
        raise
    with transaction.atomic():
        try:
            jobs.finish(Certificate, certificate_id, held, pdf=name, issued_at=now, last_error="")
        except jobs.ClaimLost:
            # Our claim went stale and another worker took over: keep only its file.
            transaction.on_commit(lambda: default_storage.delete(name))
            return False
        certificate.status = C.ISSUED
        certificate.pdf.name = name
        _notify_issued(certificate)
        events.certificate_event("certificate.issued", certificate)
    return True


@transaction.atomic
def revoke_certificate(*, certificate: Certificate, actor: User, reason: str) -> Certificate:
    """The ILO revokes a certificate; its code then verifies as revoked."""
    if not can_manage_certificates(scope_of(actor)):
        raise CertificateError(_("Only ILO administrators may revoke a certificate."))
    if not reason.strip():
        raise CertificateError(_("Please give the reason for the revocation."))
    locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
    _refuse_unless_allowed(locked, C.REVOKED)
    locked.status = C.REVOKED
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor
    locked.revocation_reason = reason.strip()
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason"])
    events.certificate_event("certificate.revoked", locked)
    return locked


@transaction.atomic
def reissue_certificate(*, certificate: Certificate, actor: User) -> Certificate:
    """The ILO reissues a certificate: a new one with a new code is rendered and emailed; the
    old code verifies as replaced."""
    if not can_manage_certificates(scope_of(actor)):
        raise CertificateError(_("Only ILO administrators may reissue a certificate."))
    old = Certificate.objects.select_for_update().get(pk=certificate.pk)
    _refuse_unless_allowed(old, C.REPLACED)
    _refuse_out_of_order(old.enrolment)
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
    return bool(jobs.retry(Certificate, [certificate.pk]))


def record_missing_pdf(*, certificate: Certificate, problem: str) -> None:
    """Note on the certificate that its PDF is gone from storage: the admin's certificate list
    shows the last error, and an ILO administrator reissues the certificate (a new PDF)."""
    Certificate.objects.filter(pk=certificate.pk).update(
        last_error=f"Missing PDF: {problem}"[:2000]
    )


# --- Internals ----------------------------------------------------------------------------


def _queue_render(certificate: Certificate) -> None:
    jobs.queue_after_commit(Certificate, certificate.pk)  # the row stays pending if not


def _notify_issued(certificate: Certificate) -> None:
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
            link=certificate.get_absolute_url(),
        )
