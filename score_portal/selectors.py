"""What each kind of user sees on their home page: real queries, a fixed number of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q

from partners.models import Partner, Partnership
from partners.selectors import partnerships_with_ledger
from score_portal.models import OutboundEmail
from score_portal.observability import Gauge
from score_portal.scope import Role, Scope
from suppliers.models import BrandSupplier, Factory, SupplierImport
from suppliers.selectors import factories_managed_by, recent_imports
from training.models import Certificate, Enrolment, Participant
from training.selectors import (
    awaiting_placement,
    certifications_of,
    current_cohorts,
    enrolment_cards_for,
    enrolment_status_counts,
    enrolments_for,
    progress_of,
)

if TYPE_CHECKING:
    from score_portal.models import User


def home_context(user: User, scope: Scope) -> dict[str, Any]:
    role = scope.primary_role
    builders = {
        Role.ILO: _ilo_home,
        Role.BRAND: _brand_home,
        Role.PROVIDER: _provider_home,
        Role.TRAINER: _trainer_home,
        Role.FACTORY: _factory_home,
    }
    context: dict[str, Any] = {"role": role.value}
    if role in builders:
        context.update(builders[role](user, scope))
    return context


def _ilo_home(user: User, scope: Scope) -> dict[str, Any]:
    ledgers = partnerships_with_ledger(scope)
    participants = Participant.objects.aggregate(
        total=Count("pk"),
        women=Count("pk", filter=Q(gender=Participant.Gender.WOMAN)),
        workers=Count("pk", filter=Q(role=Participant.Role.WORKER)),
    )
    return {
        "pending_partnerships": list(ledgers.filter(status=Partnership.Status.SUBMITTED)),
        "active_partnerships": list(ledgers.filter(status=Partnership.Status.APPROVED)),
        "factory_count": Factory.objects.count(),
        "partner_counts": dict(
            Partner.objects.order_by().values_list("kind").annotate(n=Count("pk"))
        ),
        "status_counts": enrolment_status_counts(scope),
        "participants": participants,
    }


def _brand_home(user: User, scope: Scope) -> dict[str, Any]:
    brands = list(Partner.objects.filter(pk__in=scope.funding_ids).order_by("name"))
    return {
        "brands": brands,
        "supplier_count": BrandSupplier.objects.visible_to(scope).on_list().count(),
        "partnerships": list(partnerships_with_ledger(scope)),
        "status_counts": enrolment_status_counts(scope),
        "recent_enrolments": list(enrolments_for(scope)[:10]),
        "recent_imports": list(recent_imports(scope)),
    }


HOME_QUEUE = 10  # waiting enrolments a provider's home lists; the queue page has them all


def _provider_home(user: User, scope: Scope) -> dict[str, Any]:
    waiting = awaiting_placement(scope)
    queue = list(waiting[: HOME_QUEUE + 1])
    return {
        "providers": list(Partner.objects.filter(pk__in=scope.provider_ids).order_by("name")),
        "cohorts": current_cohorts(scope),
        "partnerships": list(partnerships_with_ledger(scope)),
        "waiting": queue[:HOME_QUEUE],
        "waiting_total": waiting.count() if len(queue) > HOME_QUEUE else len(queue),
    }


def _trainer_home(user: User, scope: Scope) -> dict[str, Any]:
    return {
        "cohorts": current_cohorts(scope),
        "certifications": list(certifications_of(user)),
    }


def _factory_home(user: User, scope: Scope) -> dict[str, Any]:
    enrolments = list(enrolment_cards_for(scope))
    return {
        "factories": _managed_factories(user, scope, enrolments),
        "enrolments": [{"enrolment": e, "progress": progress_of(e)} for e in enrolments],
    }


def _managed_factories(user: User, scope: Scope, enrolments: list[Enrolment]) -> list[Factory]:
    """The user's factories; the one a manager usually has comes with its enrolments."""
    managed = scope.factory_ids
    if len(managed) == 1:
        [factory_id] = managed
        factory = next((e.factory for e in enrolments if e.factory_id == factory_id), None)
        if factory is not None:
            return [factory]
    return list(factories_managed_by(user))


# --- Operations: the backlog /metrics reports, counted when Prometheus scrapes --------------


def _counts_by_status(queryset: Any, statuses: list[str]) -> dict[str, float]:
    found = dict(queryset.filter(status__in=statuses).values_list("status").annotate(n=Count("pk")))
    return {status: float(found.get(status, 0)) for status in statuses}


def _outbox() -> dict[str, float]:
    """Emails not yet sent: queued, being sent (claimed) and failed."""
    statuses = [OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING]
    return _counts_by_status(OutboundEmail.objects, [*statuses, OutboundEmail.Status.FAILED])


def _imports() -> dict[str, float]:
    """Supplier-list imports a worker has to read or write, by status."""
    return _counts_by_status(SupplierImport.objects, list(SupplierImport.WORKING))


def _pending_certificates() -> dict[str, float]:
    """Certificates still to be rendered: waiting, or failing (a rendering error recorded)."""
    counts = Certificate.objects.filter(status=Certificate.Status.PENDING).aggregate(
        waiting=Count("pk", filter=Q(last_error="")),
        failing=Count("pk", filter=~Q(last_error="")),
    )
    return {state: float(n) for state, n in counts.items()}


def backlog_gauges() -> list[Gauge]:
    """The gauges of /metrics computed from the database (three queries per scrape)."""
    return [
        Gauge("score_outbox_emails", "Outbound emails not sent yet, by status.", "status", _outbox),
        Gauge(
            "score_supplier_imports_working",
            "Supplier-list imports waiting for or in the hands of a worker, by status.",
            "status",
            _imports,
        ),
        Gauge(
            "score_certificates_pending",
            "Certificates not rendered yet: waiting, or failing (a rendering error recorded).",
            "state",
            _pending_certificates,
        ),
    ]
