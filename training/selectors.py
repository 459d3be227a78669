"""Reads about the catalogue, cohorts and enrolments, scoped to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from training.models import Cohort, Enrolment, Module, TrainerCertification

if TYPE_CHECKING:
    from score_portal.models import User


def active_modules() -> QuerySet[Module]:
    return Module.objects.filter(is_active=True).select_related("prerequisite")


def enrolments_for(user: User) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.visible_to(user)
        .select_related("factory", "module", "partnership__partner", "cohort")
        .order_by("-created_at")
    )


def enrolment_status_counts(user: User) -> dict[str, int]:
    """Enrolments per status (every status present, zero where none), in one query."""
    rows = (
        Enrolment.objects.visible_to(user).order_by().values_list("status").annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(Enrolment.Status.values, 0)
    counts.update(dict(rows))
    return counts


def cohorts_for(user: User) -> QuerySet[Cohort]:
    return (
        Cohort.objects.visible_to(user)
        .select_related("module", "provider", "trainer")
        .annotate(
            enterprises=Count(
                "enrolments", filter=Q(enrolments__status__in=Enrolment.ACTIVE_STATUSES)
            )
        )
        .order_by("classroom_start")
    )


def certifications_of(user: User) -> QuerySet[TrainerCertification]:
    return TrainerCertification.objects.filter(trainer=user).select_related("module")
