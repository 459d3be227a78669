"""Writes about one module cycle: certifications, cohorts, enrolments and their steps.

Every status change goes through ``_move`` (history, then emails in the same transaction);
every email goes through the outbox, so it is sent once, after commit.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries

from partners.models import Membership, Partner, Partnership
from partners.selectors import ledger_of
from score_portal.access import (
    COFUNDABLE_STATUSES,
    can_act_for_partner,
    can_certify_trainers,
    can_deliver,
    can_manage_factory,
    can_organise_cohorts,
    can_withdraw_enrolment,
    factory_inviter_reach,
)
from score_portal.emails import queue_email
from score_portal.history import records_actor
from score_portal.models import User
from score_portal.scope import forget_scope, scope_of
from score_portal.transitions import Transitions, from_each
from suppliers.models import BrandSupplier, Factory
from suppliers.services import add_factory_manager
from training import chronology, events
from training.models import (
    CoFunding,
    Cohort,
    ConsultingVisit,
    Enrolment,
    EnrolmentEvent,
    FactoryInvitation,
    ImprovementAction,
    Module,
    Participant,
    TrainerCertification,
)
from training.rules import COHORT_FIELDS, cohort_refusals, placement_mismatch, places_taken
from training.selectors import progress_of
from training.services.certificates import request_certificate

E = Enrolment.Status
REMINDER_DAYS_BEFORE = 3
# The moves announced to other systems (score_portal.events; created: ``enrol_factory``).
ANNOUNCED_MOVES: dict[str, str] = {
    E.CONFIRMED: "enrolment.confirmed",
    E.COMPLETED: "enrolment.completed",
    E.WITHDRAWN: "enrolment.withdrawn",
}


class TrainingError(Exception):
    """A training rule was broken; the message is for the person who tried. ``field`` names
    the form field the message belongs beside, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- The enrolment's lifecycle: every allowed move, and who makes it -----------------------
# ``_move`` enforces it; pages ask ``allowed_moves`` which buttons to show. The first
# delivery step (attendance or a visit) moves a confirmed enrolment "in progress".
FACTORY, TRAINER, FUNDER = "factory", "trainer", "funder"
TRANSITIONS = Transitions(
    {
        (E.PENDING, E.CONFIRMED): FACTORY,
        (E.PENDING, E.DECLINED): FACTORY,
        (E.CONFIRMED, E.IN_PROGRESS): TRAINER,
        (E.IN_PROGRESS, E.COMPLETED): TRAINER,
        **from_each((E.PENDING, E.CONFIRMED, E.IN_PROGRESS), E.WITHDRAWN, FUNDER),
    }
)


def allowed_moves(enrolment: Enrolment, user: User) -> list[str]:
    """The statuses ``user`` may move ``enrolment`` to now (for the buttons on its page)."""
    return TRANSITIONS.allowed_moves(enrolment.status, lambda who: _may(user, enrolment, who))


def _may(user: User, enrolment: Enrolment, who: str) -> bool:
    if who == FACTORY:
        return _is_factory(user, enrolment)
    if who == TRAINER:
        return _is_trainer(user, enrolment)
    return can_withdraw_enrolment(scope_of(user), enrolment.partnership.partner_id)


# --- Certifications and cohorts -----------------------------------------------------------


@records_actor()
@transaction.atomic
def certify_trainer(
    *,
    trainer: User,
    module: Module,
    certified_on: datetime.date,
    valid_until: datetime.date | None = None,
    actor: User | None = None,
) -> TrainerCertification:
    """Record the ILO's certification of ``trainer`` for ``module`` (or renew it, with new
    dates). From the portal (``actor`` given): only ILO admins and staff certify, only a
    trainer of a service provider, never dated in the future, and an expiry on or after
    the certification's date."""
    if actor is not None:
        if not can_certify_trainers(scope_of(actor)):
            raise TrainingError(_("Only ILO administrators and staff certify trainers."))
        if not Membership.objects.filter(user=trainer, role=Membership.Role.TRAINER).exists():
            raise TrainingError(
                _("%(person)s is not a trainer of a service provider.") % {"person": trainer}
            )
    if actor is not None and certified_on > timezone.localdate():
        raise TrainingError(
            _("A certification cannot be dated in the future."), field="certified_on"
        )
    if valid_until is not None and valid_until < certified_on:
        raise TrainingError(
            _("The expiry must be on or after the date of certification."), field="valid_until"
        )
    certification, _created = TrainerCertification.objects.update_or_create(
        trainer=trainer,
        module=module,
        defaults={"certified_on": certified_on, "valid_until": valid_until},
    )
    return certification


@records_actor()
@transaction.atomic
def revoke_certification(*, certification: TrainerCertification, actor: User | None) -> None:
    """Withdraw a certification: the trainer may no longer be given cohorts of the module.
    Its history keeps who certified and who revoked, and when."""
    if actor is not None and not can_certify_trainers(scope_of(actor)):
        raise TrainingError(_("Only ILO administrators and staff revoke certifications."))
    certification.delete()


def _require_certified_trainer(trainer: User, provider: Partner, module: Module) -> None:
    if not Membership.objects.filter(
        user=trainer, partner=provider, role=Membership.Role.TRAINER
    ).exists():
        raise TrainingError(
            _("%(trainer)s is not a trainer of %(provider)s.")
            % {"trainer": trainer, "provider": provider},
            field="trainer",
        )
    if not TrainerCertification.objects.filter(trainer=trainer, module=module).exists():
        raise TrainingError(
            _("%(trainer)s is not certified to deliver %(module)s.")
            % {"trainer": trainer, "module": module},
            field="trainer",
        )


def _require_cohort_rules(
    *,
    classroom_start: datetime.date,
    classroom_end: datetime.date,
    capacity: int,
    taken: int = 0,
) -> None:
    refusals = cohort_refusals(
        classroom_start=classroom_start,
        classroom_end=classroom_end,
        capacity=capacity,
        taken=taken,
    )
    for field, message in refusals.items():
        raise TrainingError(message, field=field)


@records_actor()
@transaction.atomic
def create_cohort(
    *,
    module: Module,
    provider: Partner,
    trainer: User,
    venue_city: str,
    venue_country: str,
    language: str,
    classroom_start: datetime.date,
    classroom_end: datetime.date,
    capacity: int = 5,
    actor: User | None = None,
) -> Cohort:
    """Open a classroom cohort, run by a trainer of the provider certified for the module
    (``actor``, the provider's staff member, is named in its history)."""
    _require_certified_trainer(trainer, provider, module)
    _require_cohort_rules(
        classroom_start=classroom_start, classroom_end=classroom_end, capacity=capacity
    )
    cohort = Cohort.objects.create(
        module=module,
        provider=provider,
        trainer=trainer,
        venue_city=venue_city,
        venue_country=venue_country,
        language=language,
        classroom_start=classroom_start,
        classroom_end=classroom_end,
        capacity=capacity,
    )
    forget_scope(trainer)  # the trainer's reach now includes this cohort
    return cohort


@records_actor()
def update_cohort(*, cohort: Cohort, actor: User, **changes: Any) -> Cohort:
    """Change a cohort's trainer, venue, language, dates or capacity (the provider's staff).

    The cohort row is locked while its places are counted, so a capacity cut and a
    placement cannot cross. A cohort holding enrolments keeps its module."""
    if not can_organise_cohorts(scope_of(actor), cohort.provider_id):
        raise TrainingError(_("Only the provider's administrators and staff change its cohorts."))
    unknown = set(changes) - set(COHORT_FIELDS)
    if unknown:
        raise TypeError(f"update_cohort: unknown fields {sorted(unknown)}")
    with transaction.atomic():
        locked = Cohort.objects.select_for_update().get(pk=cohort.pk)
        taken = places_taken(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        if locked.module_id != cohort.module_id and locked.enrolments.exists():
            raise TrainingError(
                _("Enterprises are placed in this cohort: it keeps its module."), field="module"
            )
        _require_certified_trainer(locked.trainer, locked.provider, locked.module)
        _require_cohort_rules(
            classroom_start=locked.classroom_start,
            classroom_end=locked.classroom_end,
            capacity=locked.capacity,
            taken=taken,
        )
        locked.save()
    previous_trainer = cohort.trainer
    forget_scope(previous_trainer)
    forget_scope(locked.trainer)
    return locked


# --- Enrolling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentResult:
    factory: Factory
    enrolment: Enrolment | None = None
    refusal: str = ""
    # The field the refusal is about (``TrainingError.field``), for the API's field errors.
    field: str | None = None
    # Another brand's enrolment of this factory in the module, which the brand may offer
    # to co-fund instead (README, "Co-funding"); or the brand's open co-funding of it.
    cofundable: Enrolment | None = None
    cofunding: CoFunding | None = None

    @property
    def enrolled(self) -> bool:
        return self.enrolment is not None


@records_actor("enrolled_by")
def enrol_factory(
    *,
    factory: Factory,
    module: Module,
    partnership: Partnership,
    enrolled_by: User | None,
    cohort: Cohort | None = None,
    on: datetime.date | None = None,
    placement_reason: str = "",
) -> Enrolment:
    """Enrol ``factory`` into ``module``, funded by ``partnership``; notify the factory.

    A cohort outside the factory's country or languages takes it only with a
    ``placement_reason``, stored on the enrolment.

    The partnership (and cohort) rows are locked while quota and capacity are checked, so
    two requests cannot take the last place. The database refuses a second active enrolment
    in the same module even under concurrent requests; that comes back as a TrainingError.
    """
    if cohort is not None and cohort.module_id != module.pk:
        raise TrainingError(_("That cohort teaches a different module."), field="cohort")
    placement_reason = placement_reason.strip()
    mismatch = placement_mismatch(factory, cohort) if cohort is not None else ""
    if mismatch and not placement_reason:
        raise TrainingError(
            _("%(mismatch)s Give a reason to place it there.") % {"mismatch": mismatch},
            field="placement_reason",
        )
    try:
        with transaction.atomic():
            locked = Partnership.objects.select_for_update().get(pk=partnership.pk)
            refusal = funding_refusal(
                partnership=locked, factory=factory, module=module, on=on or timezone.localdate()
            )
            if refusal:
                raise TrainingError(refusal, field="partnership")
            refusal = _prerequisite_refusal(factory, module)
            if refusal:
                raise TrainingError(refusal, field="module")
            if cohort is not None:
                cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
                taken = cohort.enrolments.filter(status__in=Enrolment.ACTIVE_STATUSES).count()
                if taken >= cohort.capacity:
                    raise TrainingError(
                        ngettext(
                            "The cohort is full (%(capacity)s enterprise).",
                            "The cohort is full (%(capacity)s enterprises).",
                            cohort.capacity,
                        )
                        % {"capacity": cohort.capacity},
                        field="cohort",
                    )
            enrolment = Enrolment.objects.create(
                factory=factory,
                module=module,
                partnership=locked,
                cohort=cohort,
                enrolled_by=enrolled_by,
                placed_at=timezone.now() if cohort is not None else None,
                placed_by=enrolled_by if cohort is not None else None,
                placement_reason=placement_reason if mismatch else "",
            )
            EnrolmentEvent.objects.create(
                enrolment=enrolment, actor=enrolled_by, from_status="", to_status=E.PENDING
            )
            _notify_enrolled(enrolment, enrolled_by)
            events.enrolment_event("enrolment.created", enrolment)
            return enrolment
    except IntegrityError:
        raise TrainingError(
            _("%(factory)s is already enrolled in %(module)s.")
            % {"factory": factory, "module": module},
            field="module",
        ) from None


def funding_refusal(
    *,
    partnership: Partnership,
    factory: Factory,
    module: Module,
    on: datetime.date,
    count_places: bool = True,
) -> str | None:
    """Why ``partnership`` cannot fund ``factory`` in ``module`` on that day, or None: only
    an approved partnership, on a day within its dates, covering the module and the
    factory's country, with a place left, funds a new enrolment. A factory the partnership
    already funds alone (a whole place) needs no other; any other needs a whole place left.
    ``count_places=False``: everything but the places (co-funding counts them after writing
    the share, ``training.services.cofunding``)."""
    if partnership.status != Partnership.Status.APPROVED:
        return _("The partnership’s status is “%(status)s”: it cannot fund new enrolments.") % {
            "status": partnership.get_status_display()
        }
    if not partnership.is_running_on(on):
        return _("The partnership does not run on %(day)s.") % {"day": chronology.day(on)}
    if not partnership.modules.filter(pk=module.pk).exists():
        return _("The partnership does not cover %(module)s.") % {"module": module}
    if partnership.countries and factory.country not in partnership.countries:
        return _("The partnership does not cover %(country)s.") % {
            "country": countries.name(factory.country)
        }
    if not count_places:
        return None
    already_funded = partnership.enrolments.filter(
        factory=factory, holds_place=True, lead_share=1
    ).exists()
    if not already_funded and ledger_of(partnership).places_left < 1:
        return _("The partnership's quota of %(quota)s factories is used up.") % {
            "quota": partnership.factory_quota
        }
    return None


def _prerequisite_refusal(factory: Factory, module: Module) -> str | None:
    """Module 1 comes first: the factory must have taken or started the prerequisite."""
    if module.prerequisite_id is None:
        return None
    has_it = Enrolment.objects.filter(
        factory=factory, module_id=module.prerequisite_id, status__in=Enrolment.ACTIVE_STATUSES
    ).exists()
    if has_it:
        return None
    return _("%(module)s requires %(prerequisite)s first.") % {
        "module": module,
        "prerequisite": module.prerequisite,
    }


def enrol_suppliers(
    *,
    brand: Partner,
    factories: Iterable[Factory],
    module: Module,
    partnership: Partnership,
    actor: User,
    cohort: Cohort | None = None,
    placement_reason: str = "",
) -> list[EnrolmentResult]:
    """Enrol several of ``brand``'s suppliers; each one is enrolled or refused with a reason.

    Each factory is its own transaction: one refusal never undoes another's enrolment.
    """
    if not can_act_for_partner(scope_of(actor), brand.pk):
        raise TrainingError(_("Only the brand's administrators and staff may enrol suppliers."))
    if partnership.partner_id != brand.pk:
        raise TrainingError(_("That partnership belongs to another organisation."))
    factories = list(factories)
    on_list = set(
        BrandSupplier.objects.on_list()
        .filter(brand=brand, factory__in=factories)
        .values_list("factory_id", flat=True)
    )
    results = []
    for factory in factories:
        if factory.pk not in on_list:
            results.append(
                EnrolmentResult(factory, refusal=_("Not on your supplier list."), field="factory")
            )
            continue
        offer = _cofunding_offer(brand, factory, module)
        if offer is not None:
            results.append(offer)
            continue
        try:
            enrolment = enrol_factory(
                factory=factory,
                module=module,
                partnership=partnership,
                enrolled_by=actor,
                cohort=cohort,
                placement_reason=placement_reason,
            )
        except TrainingError as refusal:
            results.append(EnrolmentResult(factory, refusal=str(refusal), field=refusal.field))
        else:
            results.append(EnrolmentResult(factory, enrolment=enrolment))
    return results


def _cofunding_offer(brand: Partner, factory: Factory, module: Module) -> EnrolmentResult | None:
    """When another brand already funds ``factory`` in ``module``: instead of the refusal,
    the offer to co-fund it (or the brand's co-funding already open), or why not."""
    existing = (
        Enrolment.objects.filter(factory=factory, module=module, holds_place=True)
        .exclude(partnership__partner=brand)
        .select_related("partnership__partner")
        .first()
    )
    if existing is None:
        return None
    lead = existing.partnership.partner
    opened = (
        CoFunding.objects.filter(
            enrolment=existing, partnership__partner=brand, status__in=CoFunding.OPEN_STATUSES
        )
        .order_by("-pk")
        .first()
    )
    if opened is not None:
        return EnrolmentResult(
            factory,
            refusal=_("%(partner)s funds this enrolment; you already offered to co-fund it.")
            % {"partner": lead},
            cofunding=opened,
        )
    if existing.status not in COFUNDABLE_STATUSES:
        return EnrolmentResult(
            factory,
            refusal=_("%(factory)s is already enrolled in %(module)s.")
            % {"factory": factory, "module": module},
        )
    return EnrolmentResult(
        factory,
        refusal=_("%(partner)s already funds this enrolment: you may co-fund it.")
        % {"partner": lead},
        cofundable=existing,
    )


def _notify_enrolled(enrolment: Enrolment, actor: User | None) -> None:
    """The factory's managers (or its contact, invited to open an account) and the provider."""
    managers = list(_factory_managers(enrolment.factory))
    for manager in managers:
        _email(manager, "enrolment_notice", enrolment)
    if not managers and enrolment.factory.contact_email:
        invitation, _created = FactoryInvitation.objects.get_or_create(
            factory=enrolment.factory,
            email=enrolment.factory.contact_email.lower(),
            accepted_at=None,
            defaults={"invited_by": actor},
        )
        queue_email(
            to=invitation.email,
            template="factory_invitation",
            context={"enrolment": enrolment, "invitation": invitation},
            language=enrolment.factory.language,
        )
    if enrolment.cohort is not None:
        for person in _people_of(enrolment.cohort.provider, Membership.ACTING_ROLES):
            _email(person, "enrolment_notice", enrolment)


@transaction.atomic
def invite_factory_manager(*, factory: Factory, email: str, actor: User) -> FactoryInvitation:
    """Invite ``email`` to answer for ``factory`` (the brand or provider working with it, or
    the ILO). One open invitation per factory and address: inviting again resends it. The
    person becomes the factory's manager when they sign up and verify that address, or sign
    in with it verified (``accept_invitation``)."""
    if (
        not Factory.objects.filter(pk=factory.pk)
        .filter(factory_inviter_reach(scope_of(actor), Factory))
        .exists()
    ):
        raise TrainingError(
            _("Only a brand or provider working with this factory invites its managers.")
        )
    email = email.strip().lower()
    if factory.managers.filter(user__email__iexact=email).exists():
        raise TrainingError(
            _("%(email)s already answers for this factory.") % {"email": email}, field="email"
        )
    invitation, created = FactoryInvitation.objects.get_or_create(
        factory=factory, email=email, accepted_at=None, defaults={"invited_by": actor}
    )
    if not created and invitation.invited_by_id != actor.pk:
        invitation.invited_by = actor
        invitation.save(update_fields=["invited_by"])
    invitee_language = (
        User.objects.filter(email__iexact=email).values_list("language", flat=True).first()
    )
    queue_email(
        to=email,
        template="factory_manager_invitation",
        context={
            "factory": factory,
            "invitation": invitation,
            "inviter": actor.display_name,
            "has_account": invitee_language is not None,
        },
        language=invitee_language or factory.language or actor.language or None,
    )
    return invitation


@transaction.atomic
def accept_invitation(*, user: User, email: str) -> list[Factory]:
    """On a verified ``email``, give ``user`` the factories that address was invited to manage."""
    factories = []
    for invitation in FactoryInvitation.objects.select_for_update().filter(
        email__iexact=email, accepted_at__isnull=True
    ):
        add_factory_manager(factory=invitation.factory, user=user)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        factories.append(invitation.factory)
    return factories


# --- The factory answers ------------------------------------------------------------------


@records_actor()
def confirm_enrolment(*, enrolment: Enrolment, actor: User) -> Enrolment:
    """The factory takes part: the funding brand is told."""
    _require_factory(actor, enrolment)
    return _move(enrolment, E.CONFIRMED, actor)


@records_actor()
def decline_enrolment(*, enrolment: Enrolment, actor: User, reason: str = "") -> Enrolment:
    """The factory says no; the partnership's place is free again."""
    _require_factory(actor, enrolment)
    return _move(enrolment, E.DECLINED, actor, note=reason)


RECOMMENDED_PARTICIPANTS = {Participant.Role.MANAGER: 2, Participant.Role.WORKER: 2}


@records_actor()
@transaction.atomic
def name_participants(
    *, enrolment: Enrolment, actor: User, participants: Sequence[dict[str, str]]
) -> list[Participant]:
    """Replace the list of people the factory sends (each with role and gender).

    Two managers and two workers are recommended, not required; a list may change until the
    classroom attendance is recorded.
    """
    _require_factory(actor, enrolment)
    if enrolment.status not in (E.CONFIRMED, E.IN_PROGRESS):
        raise TrainingError(_("Confirm the enrolment before naming participants."))
    if enrolment.participants.filter(attended_classroom__isnull=False).exists():
        raise TrainingError(_("Attendance is recorded: the participants can no longer change."))
    if not participants:
        raise TrainingError(_("Name at least one participant."))
    # Row by row, so the history reads as what changed: a person named again (same name)
    # keeps their row and only their changed fields are recorded; the others are added or
    # removed. A handful of rows: no bulk write needed.
    existing: dict[str, list[Participant]] = {}
    for person in enrolment.participants.order_by("pk"):
        existing.setdefault(person.name.casefold(), []).append(person)
    kept = []
    for p in participants:
        values = {
            "name": p["name"].strip(),
            "position": p.get("position", "").strip(),
            "role": p["role"],
            "gender": p["gender"],
        }
        same_name = existing.get(values["name"].casefold())
        person = same_name.pop(0) if same_name else Participant(enrolment=enrolment)
        if person.pk is None or any(getattr(person, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(person, k, v)
            person.save()
        kept.append(person)
    for leftover in existing.values():
        for person in leftover:
            person.delete()
    return kept


def participant_advice(participants: Sequence[Participant]) -> str:
    """A gentle note when the mix differs from the recommended two managers and two workers."""
    counts = {role: sum(1 for p in participants if p.role == role) for role in Participant.Role}
    if all(counts[r] == n for r, n in RECOMMENDED_PARTICIPANTS.items()):
        return ""
    return _(
        "SCORE recommends 2 managers and 2 workers; you named %(managers)s managers and "
        "%(workers)s workers."
    ) % {"managers": counts[Participant.Role.MANAGER], "workers": counts[Participant.Role.WORKER]}


@records_actor()
@transaction.atomic
def add_improvement_action(
    *,
    enrolment: Enrolment,
    actor: User,
    description: str,
    owner: str,
    due_date: datetime.date,
) -> ImprovementAction:
    """The factory's improvement team adds an action to its plan (the trainer may help)."""
    if not (_is_factory(actor, enrolment) or _is_trainer(actor, enrolment)):
        raise TrainingError(_("Only the factory and its trainer write the improvement plan."))
    _require_running(enrolment)
    return ImprovementAction.objects.create(
        enrolment=enrolment, description=description.strip(), owner=owner.strip(), due_date=due_date
    )


@records_actor()
@transaction.atomic
def update_action_status(*, action: ImprovementAction, actor: User, status: str) -> None:
    if not (_is_factory(actor, action.enrolment) or _is_trainer(actor, action.enrolment)):
        raise TrainingError(_("Only the factory and its trainer update the improvement plan."))
    if status not in ImprovementAction.Status.values:
        raise TrainingError(_("Unknown status."))
    if action.status == status:
        return  # nothing changed: no history row
    action.status = status
    action.save(update_fields=["status"])


# --- The trainer delivers -----------------------------------------------------------------


@records_actor()
@transaction.atomic
def record_visit(
    *,
    enrolment: Enrolment,
    actor: User,
    kind: str,
    visited_on: datetime.date,
    notes: str = "",
    actions_reviewed: Iterable[ImprovementAction] = (),
) -> ConsultingVisit:
    """Record the baseline visit or the next follow-up visit; the factory is told."""
    _require_trainer(actor, enrolment)
    _require_running(enrolment)
    if kind not in ConsultingVisit.Kind.values:
        raise TrainingError(_("Unknown kind of visit."), field="kind")
    existing = enrolment.visits.filter(kind=kind).count()
    if kind == ConsultingVisit.Kind.BASELINE and existing:
        raise TrainingError(_("The baseline visit is already recorded."), field="kind")
    if (
        kind == ConsultingVisit.Kind.FOLLOW_UP
        and not enrolment.visits.filter(kind=ConsultingVisit.Kind.BASELINE).exists()
    ):
        raise TrainingError(_("Record the intake / baseline visit first."), field="kind")
    refusal = chronology.visit_refusal(
        kind=kind,
        visited_on=visited_on,
        cohort=enrolment.cohort,
        earlier_follow_ups=enrolment.visits.filter(kind=ConsultingVisit.Kind.FOLLOW_UP),
        today=timezone.localdate(),
    )
    if refusal:
        raise TrainingError(refusal, field="visited_on")
    assert enrolment.cohort is not None  # _require_trainer: a cohort's trainer delivers
    try:
        with transaction.atomic():
            visit = ConsultingVisit.objects.create(
                enrolment=enrolment,
                kind=kind,
                number=existing + 1,
                visited_on=visited_on,
                # The cohort's trainer delivered it (the actor, on the page; a provider's
                # API key records it in the trainer's name, its creator in the history).
                trainer_id=enrolment.cohort.trainer_id,
                notes=notes.strip(),
            )
    except IntegrityError:
        raise TrainingError(_("This visit was just recorded by someone else.")) from None
    reviewed = [a for a in actions_reviewed if a.enrolment_id == enrolment.pk]
    visit.actions_reviewed.set(reviewed)
    for manager in _factory_managers(enrolment.factory):
        _email(manager, "visit_logged", enrolment, visit=visit)
    events.visit_logged(visit, enrolment)
    _start(enrolment, actor)
    return visit


def missing_steps(enrolment: Enrolment) -> list[str]:
    """The steps of the cycle not done yet, in words (empty: ready to complete)."""
    return [step.label for step in progress_of(enrolment).steps if not step.done and not step.final]


def completion_refusals(enrolment: Enrolment, on: datetime.date | None = None) -> list[str]:
    """Why ``enrolment`` cannot be completed on ``on`` (today): the steps still to do, then
    the cycle's dates (the classroom has ended, the module's follow-up visits are logged)."""
    refusals = []
    missing = missing_steps(enrolment)
    if missing:
        refusals.append(
            _("Not all steps are done yet: %(missing)s.") % {"missing": ", ".join(missing)}
        )
    # The follow-up visits still missing are among the missing steps; the date is not.
    too_early = chronology.completion_date_refusal(
        cohort=enrolment.cohort, on=on or timezone.localdate()
    )
    if too_early:
        refusals.append(too_early)
    return refusals


@records_actor()
@transaction.atomic
def complete_enrolment(*, enrolment: Enrolment, actor: User) -> Enrolment:
    """The trainer closes the cycle (from the classroom's last day on, once every step is
    done); the certificate is requested in the same transaction."""
    _require_trainer(actor, enrolment)
    refusals = completion_refusals(enrolment)
    if refusals:
        raise TrainingError(" ".join(refusals))
    enrolment = _move(enrolment, E.COMPLETED, actor)
    request_certificate(enrolment=enrolment)
    return enrolment


@records_actor()
def withdraw_enrolment(*, enrolment: Enrolment, actor: User, reason: str) -> Enrolment:
    """The funding brand (or the ILO) withdraws; the partnership's place is released."""
    if not can_withdraw_enrolment(scope_of(actor), enrolment.partnership.partner_id):
        raise TrainingError(_("Only the funding partner or the ILO may withdraw an enrolment."))
    if not reason.strip():
        raise TrainingError(_("Please give the reason for the withdrawal."))
    return _move(enrolment, E.WITHDRAWN, actor, note=reason.strip())


# --- Reminders (Celery beat) --------------------------------------------------------------


def send_classroom_reminders(*, today: datetime.date | None = None) -> int:
    """Remind factories a few days before their classroom; each enrolment once."""
    today = today or timezone.localdate()
    due = Enrolment.objects.filter(
        status__in=(E.CONFIRMED, E.IN_PROGRESS),
        cohort__classroom_start__gt=today,
        cohort__classroom_start__lte=today + datetime.timedelta(days=REMINDER_DAYS_BEFORE),
        classroom_reminder_sent_at__isnull=True,
    ).values_list("pk", flat=True)
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            claimed = Enrolment.objects.filter(
                pk=pk, classroom_reminder_sent_at__isnull=True
            ).update(classroom_reminder_sent_at=timezone.now())
            if not claimed:
                continue  # another run took it
            enrolment = Enrolment.objects.select_related("factory", "module", "cohort").get(pk=pk)
            for manager in _factory_managers(enrolment.factory):
                _email(manager, "classroom_reminder", enrolment)
            sent += 1
    return sent


# --- Internals ----------------------------------------------------------------------------


def _move(
    enrolment: Enrolment,
    to_status: str,
    actor: User | None,
    *,
    note: str = "",
    by_delivery: bool = False,
) -> Enrolment:
    """Move ``enrolment`` to ``to_status`` if ``TRANSITIONS`` allows it (and ``actor`` is the
    party that makes the move); history, then emails, in the same transaction.
    ``by_delivery``: the move follows from a delivery step whose service already checked who
    may record it (the register, which ILO staff may also keep): the party is not asked."""
    with transaction.atomic():
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        who = TRANSITIONS.who(locked.status, to_status)
        if who is None:
            raise TrainingError(
                _("An enrolment in the status “%(status)s” cannot move to “%(to)s”.")
                % {
                    "status": locked.get_status_display(),
                    "to": Enrolment.Status(to_status).label,
                }
            )
        if actor is not None and not by_delivery and not _may(actor, locked, who):
            raise TrainingError(_("You may not make this change to the enrolment."))
        from_status = locked.status
        locked.status = to_status
        locked.status_changed_at = timezone.now()
        fields = ["status", "status_changed_at"]
        if to_status == E.COMPLETED:
            locked.completed_at = locked.status_changed_at
            fields.append("completed_at")
        if to_status == E.WITHDRAWN:
            locked.withdrawal_reason = note
            fields.append("withdrawal_reason")
        locked.save(update_fields=fields)
        EnrolmentEvent.objects.create(
            enrolment=locked, actor=actor, from_status=from_status, to_status=to_status, note=note
        )
        _notify_moved(locked, to_status)
        if to_status in ANNOUNCED_MOVES:
            events.enrolment_event(ANNOUNCED_MOVES[to_status], locked)
    enrolment.refresh_from_db()
    return locked


def _notify_moved(enrolment: Enrolment, to_status: str) -> None:
    if to_status == E.CONFIRMED:
        for person in _people_of(enrolment.partnership.partner, Membership.ACTING_ROLES):
            _email(person, "enrolment_confirmed", enrolment)
    elif to_status == E.COMPLETED:
        recipients = {p.pk: p for p in _factory_managers(enrolment.factory)}
        recipients.update(
            {p.pk: p for p in _people_of(enrolment.partnership.partner, Membership.ACTING_ROLES)}
        )
        for person in recipients.values():
            _email(person, "enrolment_completed", enrolment)


def _start(enrolment: Enrolment, actor: User) -> Enrolment:
    """The first delivery step turns a confirmed enrolment into one in progress."""
    if enrolment.status == E.CONFIRMED:
        return _move(enrolment, E.IN_PROGRESS, actor, by_delivery=True)
    return enrolment


def _email(person: User, template: str, enrolment: Enrolment, **extra: Any) -> None:
    queue_email(
        to=person.email,
        template=template,
        context={"enrolment": enrolment, "recipient": person, **extra},
        language=person.language or settings.LANGUAGE_CODE,
        link=enrolment.get_absolute_url(),
    )


def _factory_managers(factory: Factory) -> Iterable[User]:
    return User.objects.filter(managed_factories__factory=factory, is_active=True).order_by("pk")


def _people_of(partner: Partner, roles: Sequence[str]) -> Iterable[User]:
    return User.objects.filter(
        memberships__partner=partner, memberships__role__in=roles, is_active=True
    ).order_by("pk")


def _is_trainer(user: User, enrolment: Enrolment) -> bool:
    cohort = enrolment.cohort
    return cohort is not None and can_deliver(scope_of(user), cohort.trainer_id, cohort.provider_id)


def _require_trainer(user: User, enrolment: Enrolment) -> None:
    if not _is_trainer(user, enrolment):
        raise TrainingError(_("Only the cohort's trainer records the delivery."))


def _is_factory(user: User, enrolment: Enrolment) -> bool:
    return can_manage_factory(scope_of(user), enrolment.factory_id)


def _require_factory(user: User, enrolment: Enrolment) -> None:
    if not _is_factory(user, enrolment):
        raise TrainingError(_("Only the factory's managers answer for the factory."))


def _require_running(enrolment: Enrolment) -> None:
    if enrolment.status not in (E.CONFIRMED, E.IN_PROGRESS):
        raise TrainingError(
            _("The enrolment’s status is “%(status)s”: nothing more can be recorded.")
            % {"status": enrolment.get_status_display()}
        )
