"""Training's domain events (score_portal.events): who hears of an enrolment, a visit and a
certificate, and the few fields an event carries.

An enrolment's events go to the organisations whose scope reaches it: the partner funding it
(its partnership's) and the service provider of its cohort, once it has one. A certificate's
go to the funding partner only, as certificates are reached (``access.certificate_reach``).
"""

from __future__ import annotations

from typing import Any

from score_portal import events
from training.models import Certificate, ConsultingVisit, Enrolment


def enrolment_fields(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "status": enrolment.status,
        "factory_id": enrolment.factory_id,
        "module": enrolment.module.code,
        "partnership_id": enrolment.partnership_id,
        "cohort_id": enrolment.cohort_id,
    }


def _reached_by(enrolment: Enrolment) -> list[int | None]:
    return [
        enrolment.partnership.partner_id,
        enrolment.cohort.provider_id if enrolment.cohort is not None else None,
    ]


def enrolment_event(kind: str, enrolment: Enrolment) -> None:
    """``enrolment.created`` / ``confirmed`` / ``completed`` / ``withdrawn``."""
    events.emit(
        kind,
        organisation_ids=_reached_by(enrolment),
        object_type="enrolment",
        object_id=enrolment.pk,
        data=enrolment_fields(enrolment),
    )


def visit_logged(visit: ConsultingVisit, enrolment: Enrolment) -> None:
    events.emit(
        "visit.logged",
        organisation_ids=_reached_by(enrolment),
        object_type="visit",
        object_id=visit.pk,
        data={
            "enrolment_id": enrolment.pk,
            "kind": visit.kind,
            "number": visit.number,
            "visited_on": visit.visited_on.isoformat(),
        },
    )


def certificate_event(kind: str, certificate: Certificate) -> None:
    """``certificate.issued`` / ``certificate.revoked``."""
    enrolment = certificate.enrolment
    events.emit(
        kind,
        organisation_ids=[enrolment.partnership.partner_id],
        object_type="certificate",
        object_id=certificate.pk,
        data={
            "code": certificate.code,
            "status": certificate.status,
            "enrolment_id": enrolment.pk,
            "factory_id": enrolment.factory_id,
            "module": enrolment.module.code,
        },
    )
