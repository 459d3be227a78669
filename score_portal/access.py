"""Who may see and do what: the one module that answers it.

Every question takes the person's ``Scope`` (``request.scope`` in a view, ``scope_of(user)``
elsewhere) and plain ids, and imports no app: rules that reach across apps name the relation
by its lookup path (``enrolments__cohort_id``), or take the related model from the relation
itself, never from an import.

- *Reach* (``*_reach``): which rows of a model the person sees, as a ``Q`` for the model's
  ``QuerySet.visible_to(scope)``, the one entry point of every tenant-owned read.
- *Actions* (``can_*``): may the person do this to that? Views and services ask; templates
  are handed the answers.
- The acting brand, the organisations one may apply for, and the menu are answers too.

An object outside a person's reach answers 404, exactly like a missing one
(``get_visible_or_404``), so no id-guessing tells anyone what exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from score_portal.scope import ACTING_ROLES, MemberRole, Role, Scope

# The status of an approved partnership (partners.models.Partnership.Status.APPROVED; the
# kernel imports no app).
PARTNERSHIP_APPROVED = "approved"

# A condition no row meets (Django answers it without a query).
NOTHING = Q(pk__in=[])
EVERYTHING = Q()


def parse_id(value: object) -> int | None:
    """A database id typed in a URL or form (``?brand=12``), or None. Only ASCII digits count:
    ``str.isdigit`` also accepts "²", which ``int`` refuses."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


M = TypeVar("M", bound=Model)


def get_visible_or_404(queryset: QuerySet[M], scope: Scope, **lookup: Any) -> M:
    """Fetch one object from the person's reach; anything outside it is simply not found."""
    visible = queryset.visible_to(scope)  # type: ignore[attr-defined]
    try:
        obj: M = visible.get(**lookup)
    except (visible.model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    return obj


def _related(model: type[Model], relation: str) -> type[Model]:
    """The model at the other end of ``relation`` (no import of the other app needed)."""
    related = model._meta.get_field(relation).related_model
    assert isinstance(related, type)
    return related


def _any(branches: list[Q]) -> Q:
    if not branches:
        return NOTHING
    reach = branches[0]
    for branch in branches[1:]:
        reach |= branch
    return reach


# --- Reach: what each model's visible_to(scope) filters on ---------------------------------


def partner_reach(scope: Scope) -> Q:
    """Organisations: one's own; the ILO sees all."""
    return EVERYTHING if scope.sees_everything else Q(pk__in=scope.partner_ids)


def partnership_reach(scope: Scope) -> Q:
    """Partnerships of one's own organisations; the ILO sees all."""
    return EVERYTHING if scope.sees_everything else Q(partner_id__in=scope.partner_ids)


def supplier_link_reach(scope: Scope) -> Q:
    """A brand's supplier list (and its imports) is the brand's own."""
    return EVERYTHING if scope.sees_everything else Q(brand_id__in=scope.funding_ids)


supplier_import_reach = supplier_link_reach


def cohort_reach(scope: Scope) -> Q:
    """Cohorts one's provider organises, or that one delivers as their trainer."""
    if scope.sees_everything:
        return EVERYTHING
    reach = Q(provider_id__in=scope.provider_staff_ids)
    if scope.user_id is not None:  # an API key's scope has no person
        reach |= Q(trainer_id=scope.user_id)
    return reach


# Beyond this many ids, a scope's list goes to the database as the subquery it came from.
LONG_ID_LIST = 200


def enrolment_reach(scope: Scope, model: type[Model]) -> Q:
    """Enrolments of one's factory, of the cohorts one delivers or organises, and those one's
    brand funds.

    Each branch is a condition on the enrolment's own columns, never a join: an OR across
    joined tables makes PostgreSQL hash every cohort and plan the joins on every list.
    Literal id lists (factories, trained cohorts) keep their indexes (a BitmapOr); they go
    as one array (``any_of``): a trainer of 2,700 cohorts would otherwise send 2,700
    placeholders, each bound in Python, on every list and search (about 20 ms a query).
    """
    if scope.sees_everything:
        return EVERYTHING
    branches = []
    if scope.factory_ids:
        branches.append(Q(factory_id__any_of=scope.factory_ids))
    if len(scope.trained_cohort_ids) > LONG_ID_LIST:
        # A long list costs PostgreSQL more to plan (each value checked against the column's
        # statistics: 7 ms for 2,700 cohorts, in every query of a page) than the subquery
        # of the same cohorts costs to run; a short one keeps the cohort_id index.
        trained = _related(model, "cohort")._default_manager.filter(trainer_id=scope.user_id)
        branches.append(Q(cohort_id__in=trained.values("pk")))
    elif scope.trained_cohort_ids:
        branches.append(Q(cohort_id__any_of=scope.trained_cohort_ids))
    if scope.funding_ids:
        branches += _funded_reach(scope, model)
    if scope.provider_staff_ids:
        organised = _related(model, "cohort")._default_manager.filter(
            provider_id__in=scope.provider_staff_ids
        )
        branches.append(Q(cohort_id__in=organised.values("pk")))
        branches.append(placeable_reach(model, scope.provider_staff_ids))
    return _any(branches)


def _funded_reach(scope: Scope, model: type[Model]) -> list[Q]:
    """The enrolments one's organisations fund: as the lead funder (the enrolment's
    partnership is theirs) or with a co-funding share in force of one of their partnerships
    (README, "Co-funding").

    Their partnerships (a few per organisation) are read first, with whether any of them
    holds a share in force, in one small query, and go to the enrolment query as one array:
    PostgreSQL then counts a brand's 20,000 enrolments from the partnership index alone
    (1.6 ms), where an OR with the co-funding subquery scans them all (3 ms); the co-funding
    branch is there only when a share in force exists (most brands co-fund nothing)."""
    partnerships = _related(model, "partnership")._default_manager
    cofundings = _related(model, "cofundings")._default_manager
    shares = cofundings.filter(partnership_id=OuterRef("pk"), in_force=True)
    rows = list(
        partnerships.filter(partner_id__in=scope.funding_ids)
        .order_by()
        .values_list("pk", Exists(shares))
    )
    branches = []
    if rows:
        branches.append(Q(partnership_id__any_of=[pk for pk, _shares in rows]))
    sharing = [pk for pk, has_shares in rows if has_shares]
    if sharing:
        cofunded = cofundings.filter(in_force=True, partnership_id__any_of=sharing)
        branches.append(Q(pk__in=cofunded.values("enrolment_id")))
    return branches


def placeable_reach(model: type[Model], provider_ids: frozenset[int] | set[int]) -> Q:
    """Enrolments waiting for a cohort that these providers may place: the providers
    *deliver that module in that country*.

    - waiting: no cohort, and still holding a place (not declined or withdrawn);
    - the module has classroom days, and one of the providers' trainers holds a current
      certification for it;
    - the factory's country is one where the providers work: they hold a cohort there, or
      an approved partnership (a licence) covering it.

    A provider thus sees only the queue it could serve; any other provider, and anyone
    else, gets 404 on those enrolments.
    """
    if not provider_ids:
        return NOTHING
    today = timezone.localdate()
    module = _related(model, "module")
    delivered = module._default_manager.filter(
        Q(certifications__valid_until__isnull=True) | Q(certifications__valid_until__gte=today),
        classroom_days__gt=0,
        certifications__trainer__memberships__partner_id__in=provider_ids,
        certifications__trainer__memberships__role=MemberRole.TRAINER,
    )
    cohorts = _related(model, "cohort")._default_manager.filter(provider_id__in=provider_ids)
    factory = _related(model, "factory")
    # A partnership's countries are one text column ("CN,TR"): a two-letter code found in
    # it is one of them (codes never straddle the commas).
    licensed = _related(model, "partnership")._default_manager.filter(
        partner_id__in=provider_ids,
        status=PARTNERSHIP_APPROVED,
        countries__contains=OuterRef("country"),
    )
    where = factory._default_manager.filter(
        Q(country__in=cohorts.values("venue_country")) | Q(Exists(licensed))
    )
    return Q(
        cohort__isnull=True,
        holds_place=True,
        module_id__in=delivered.values("pk"),
        factory_id__in=where.values("pk"),
    )


def factory_reach(scope: Scope, model: type[Model]) -> Q:
    """Factories one manages, on one's brands' lists, or in enrolments one can see as a
    provider or trainer."""
    if scope.sees_everything:
        return EVERYTHING
    branches = []
    if scope.factory_ids:
        branches.append(Q(pk__any_of=scope.factory_ids))
    if scope.funding_ids:
        listed = _related(model, "brand_links")._default_manager.filter(
            brand_id__in=scope.funding_ids
        )
        branches.append(Q(pk__in=listed.values("factory_id")))
    if scope.provider_ids or scope.is_trainer:
        enrolment = _related(model, "enrolments")
        seen = enrolment._default_manager.filter(enrolment_reach(scope, enrolment))
        branches.append(Q(pk__in=seen.values("factory_id")))
    return _any(branches)


def cofunding_reach(scope: Scope) -> Q:
    """Co-funding proposals and shares: the proposing brand's people and the lead funder's
    people (any role: viewers read); the ILO sees all. A third brand sees none."""
    if scope.sees_everything:
        return EVERYTHING
    if not scope.funding_ids:
        return NOTHING
    return Q(partnership__partner_id__in=scope.funding_ids) | Q(
        enrolment__partnership__partner_id__in=scope.funding_ids
    )


def cofundable_reach(scope: Scope, brand_id: int, model: type[Model]) -> Q:
    """Enrolments ``brand_id`` may offer to co-fund: a factory on its supplier list now, in
    an enrolment still to be delivered (pending, confirmed or in progress) that another
    partner leads. Only for those who act for that brand; everyone else reaches none (404)."""
    if not can_act_for_partner(scope, brand_id) or brand_id not in scope.funding_ids:
        return NOTHING
    links = _related(_related(model, "factory"), "brand_links")._default_manager.filter(
        brand_id=brand_id, ended_at=None
    )
    return (
        Q(factory_id__in=links.values("factory_id"))
        & Q(status__in=COFUNDABLE_STATUSES)
        & ~Q(partnership__partner_id=brand_id)
    )


# An enrolment not completed yet (training's pending, confirmed, in progress) may be
# co-funded: a completed one was paid for.
COFUNDABLE_STATUSES = ("pending", "confirmed", "in_progress")


def certificate_reach(scope: Scope, model: type[Model] | None = None) -> Q:
    """Certificates one may download: one's factory's, and those one's brand funded (as
    the lead funder or, given the certificate ``model``, a co-funder)."""
    if scope.sees_everything:
        return EVERYTHING
    reach = Q(enrolment__partnership__partner_id__in=scope.funding_ids) | Q(
        enrolment__factory_id__in=scope.factory_ids
    )
    if model is not None and scope.funding_ids:
        cofunded = _related(_related(model, "enrolment"), "cofundings")._default_manager.filter(
            in_force=True, partnership__partner_id__in=scope.funding_ids
        )
        reach |= Q(enrolment_id__in=cofunded.values("enrolment_id"))
    return reach


# --- Actions ---------------------------------------------------------------------------


def can_decide_partnerships(scope: Scope) -> bool:
    """ILO admins and staff approve, reject, suspend and close partnerships."""
    return scope.is_ilo_decider


def can_act_for_partner(scope: Scope, partner_id: int) -> bool:
    """Admins and staff act for their organisation; viewers only read."""
    return scope.role_in(partner_id) in ACTING_ROLES


def applying_partner_ids(scope: Scope) -> frozenset[int]:
    """Organisations one may apply for a partnership for: where one acts (not the ILO)."""
    return scope.funding_acting_ids | scope.provider_acting_ids


def brand_ids(scope: Scope, *, acting: bool) -> frozenset[int]:
    """The brands (and initiatives) one acts for (uploads, enrols) or, ``acting=False``,
    whose supplier lists and progress one reads."""
    return scope.funding_acting_ids if acting else scope.funding_ids


def acts_for_a_brand(scope: Scope) -> bool:
    """Admins or staff of some brand: they upload supplier lists and enrol suppliers (the
    brand itself is chosen on the page, and checked with ``can_manage_supplier_list``)."""
    return bool(scope.funding_acting_ids)


def can_manage_supplier_list(scope: Scope, brand_id: int) -> bool:
    """Upload a brand's supplier list, confirm its imports, enrol its suppliers."""
    return brand_id in scope.funding_acting_ids


def can_export_supplier_lists(scope: Scope) -> bool:
    """Brand people export their own brands' supplier lists; the ILO exports every list."""
    return scope.sees_everything or bool(scope.funding_ids)


def can_manage_factory(scope: Scope, factory_id: int) -> bool:
    """The factory's own managers answer for it (confirm enrolments, record KPIs)."""
    return factory_id in scope.factory_ids


def can_decide_factory_change(scope: Scope, factory_id: int) -> bool:
    """A change a brand proposed to a factory's shared data: its managers and ILO admins and
    staff accept or decline it."""
    return scope.is_ilo_decider or can_manage_factory(scope, factory_id)


def factory_change_decider_reach(scope: Scope) -> Q:
    """Proposed factory changes waiting for this person's decision (a ``FactoryChange``
    filter): every one for the ILO, a manager's own factories' otherwise."""
    if scope.is_ilo_decider:
        return EVERYTHING
    return Q(factory_id__in=scope.factory_ids) if scope.factory_ids else NOTHING


def can_read_supplier_list(scope: Scope, brand_id: int) -> bool:
    """A brand's supplier list: its own people (viewers too), and the ILO."""
    return scope.sees_everything or brand_id in scope.funding_ids


def can_deliver(scope: Scope, trainer_id: int | None, provider_id: int | None = None) -> bool:
    """The cohort's trainer (``cohort.trainer_id``) logs attendance and visits; so does an
    acting API key of the cohort's provider (``cohort.provider_id``), which speaks for its
    trainers (``Scope.delivering_provider_ids``; no person's scope holds any)."""
    if provider_id is not None and provider_id in scope.delivering_provider_ids:
        return True
    return scope.user_id is not None and trainer_id == scope.user_id


def organising_provider_ids(scope: Scope) -> frozenset[int]:
    """Providers for which one plans cohorts: their admins and staff."""
    return scope.provider_staff_ids & scope.provider_acting_ids


def can_organise_cohorts(scope: Scope, provider_id: int) -> bool:
    return provider_id in organising_provider_ids(scope)


def placing_provider_ids(scope: Scope) -> frozenset[int]:
    """Providers for which one places waiting enrolments into cohorts: their admins and
    staff (viewers see the queue but do not place)."""
    return organising_provider_ids(scope)


def can_place(scope: Scope, provider_id: int) -> bool:
    """Place waiting enrolments into one of this provider's cohorts: the provider's
    acting staff, and ILO admins and staff."""
    return scope.is_ilo_decider or provider_id in placing_provider_ids(scope)


def can_see_placing_queue(scope: Scope) -> bool:
    """The queue of enrolments waiting for a cohort: the ILO, and providers' staff (viewers
    included: they see it, they do not place)."""
    return scope.sees_everything or bool(scope.provider_staff_ids)


def places_anywhere(scope: Scope) -> bool:
    """Whether one places waiting enrolments at all (for some provider, or as the ILO)."""
    return scope.is_ilo_decider or bool(placing_provider_ids(scope))


def can_record_attendance(
    scope: Scope, trainer_id: int | None, provider_id: int | None = None
) -> bool:
    """The cohort's trainer keeps its attendance register; ILO admins and staff may too."""
    return can_deliver(scope, trainer_id, provider_id) or scope.is_ilo_decider


def can_see_kpi_detail(scope: Scope, *, factory_id: int, trainer_id: int | None) -> bool:
    """KPI data belongs to the factory: its managers, its trainer and the ILO see each reading
    and its history. Not the provider's other staff, nor its API keys (which record readings
    for the trainer, ``can_correct_kpi``, but read none: a key is its provider's staff), and
    not the funding brand, which sees the readings only with the factory's consent
    (``can_see_kpi_readings``). Pass the enrolment's factory and its cohort's trainer (None
    without a cohort)."""
    return (
        scope.sees_everything or factory_id in scope.factory_ids or can_deliver(scope, trainer_id)
    )


def can_see_kpi_readings(
    scope: Scope,
    *,
    factory_id: int,
    trainer_id: int | None,
    funding_partner_id: int,
    consented: bool,
) -> bool:
    """The readings of one enrolment: those who see KPI detail, and the funding brand's people
    when the factory has consented (``consented``: a consent for that brand exists)."""
    return can_see_kpi_detail(scope, factory_id=factory_id, trainer_id=trainer_id) or (
        consented and funding_partner_id in scope.funding_ids
    )


def can_correct_kpi(
    scope: Scope, *, factory_id: int, trainer_id: int | None, provider_id: int | None = None
) -> bool:
    """The factory's managers and the cohort's trainer record, correct and delete readings;
    so do the acting API keys of the cohort's provider (``provider_id``), for its trainer.
    Those keys write without reading (``can_see_kpi_detail``): what a write answers is the
    reading the key sent."""
    return factory_id in scope.factory_ids or can_deliver(scope, trainer_id, provider_id)


def can_withdraw_enrolment(scope: Scope, funding_partner_id: int) -> bool:
    """The funding partner's acting people, or ILO admins, withdraw an enrolment."""
    return scope.is_ilo_decider or can_act_for_partner(scope, funding_partner_id)


def can_propose_cofunding(scope: Scope, brand_id: int) -> bool:
    """A brand's (or initiative's) acting people offer to co-fund for it."""
    return brand_id in scope.funding_ids and can_act_for_partner(scope, brand_id)


def can_decide_cofunding(scope: Scope, lead_partner_id: int) -> bool:
    """The lead funder's acting people agree to or decline a co-funding proposal: the
    brand that pays shares its enrolment, nobody decides it for them (not the ILO)."""
    return can_act_for_partner(scope, lead_partner_id)


def can_end_cofunding(scope: Scope, cofunder_partner_id: int) -> bool:
    """The co-funder's acting people (or ILO admins) withdraw a co-funder's proposal or end
    its share."""
    return scope.is_ilo_decider or can_act_for_partner(scope, cofunder_partner_id)


def reporting_partner_ids(scope: Scope) -> frozenset[int]:
    """Organisations whose partnerships' results reports one reads: one's brand or initiative
    (any role) or service provider (its staff, not its trainers)."""
    return scope.funding_ids | scope.provider_staff_ids


def can_report_on_partnership(scope: Scope, partner_id: int) -> bool:
    """Results reports and the IATI export of a partnership: its partner's people (not a
    provider's trainers) and the ILO."""
    return scope.sees_everything or partner_id in reporting_partner_ids(scope)


def can_list_results_reports(scope: Scope) -> bool:
    """The results reports page: the ILO, and the people of an organisation whose
    partnerships' reports they read (``reporting_partner_ids``); anyone else gets 404."""
    return scope.sees_everything or bool(reporting_partner_ids(scope))


def results_report_reach(scope: Scope) -> Q:
    """Generated results reports: those of the partnerships one may report on."""
    if scope.sees_everything:
        return EVERYTHING
    return Q(partnership__partner_id__in=reporting_partner_ids(scope))


def can_export_programme_results(scope: Scope) -> bool:
    """The programme-wide IATI export is the ILO's."""
    return scope.sees_everything


def can_manage_certificates(scope: Scope) -> bool:
    """ILO admins and staff revoke and reissue certificates."""
    return scope.is_ilo_decider


def can_download_certificate_pdf(scope: Scope, *, issued: bool) -> bool:
    """A certificate one sees: its PDF while it is issued; a revoked or replaced one's only
    for those who manage certificates (the ILO's deciders), on the page and in the API."""
    return issued or can_manage_certificates(scope)


def can_download_certificates_zip(scope: Scope) -> bool:
    """Brand staff (and the ILO) download their suppliers' certificates in one ZIP."""
    return scope.sees_everything or bool(scope.funding_ids)


def can_merge_factories(scope: Scope) -> bool:
    """ILO admins and staff keep the factory registry: the duplicates queue and merges."""
    return scope.is_ilo_decider


def can_see_programme_results(scope: Scope) -> bool:
    """The programme's results dashboard is the ILO's (every factory, every partner)."""
    return scope.sees_everything


def sees_whole_portfolio(scope: Scope, brand_id: int) -> bool:
    """Whether what one sees of a brand's funded enrolments is all of them (the ILO, the
    brand's own people): such readers share the portfolio's kept figures (reporting.rollups)."""
    return scope.sees_everything or brand_id in scope.funding_ids


def can_see_operations(scope: Scope) -> bool:
    """ILO admins and staff see the portal's health page and its metrics."""
    return scope.is_ilo_decider


def can_manage_people(scope: Scope, partner_id: int, *, is_ilo_organisation: bool = False) -> bool:
    """An organisation's administrators manage its people (invite, change roles, remove); ILO
    admins and staff do it for every partner organisation (they onboard them), and only
    the ILO's own administrators for the ILO."""
    if scope.is_superuser:
        return True
    if is_ilo_organisation:
        return MemberRole.ADMIN in scope.ilo_roles
    return scope.is_ilo_decider or scope.role_in(partner_id) == MemberRole.ADMIN


def can_manage_webhooks(scope: Scope, partner_id: int) -> bool:
    """An organisation's own administrators subscribe its systems to webhooks and read their
    delivery log. Not the ILO's staff: a webhook sends what the organisation's scope reaches
    to a URL of its choosing, which is the organisation's decision alone."""
    return scope.role_in(partner_id) == MemberRole.ADMIN


def webhook_partner_ids(scope: Scope) -> frozenset[int]:
    """The organisations whose webhooks the person manages (``can_manage_webhooks``)."""
    return frozenset(p for p in scope.partner_ids if can_manage_webhooks(scope, p))


def can_manage_api_keys(
    scope: Scope, partner_id: int, *, is_ilo_organisation: bool = False
) -> bool:
    """An organisation's own administrators create and revoke its API keys (a key acts for
    the organisation, so not the ILO's deciders for a partner, as they may for people)."""
    if is_ilo_organisation:
        return MemberRole.ADMIN in scope.ilo_roles
    return scope.role_in(partner_id) == MemberRole.ADMIN


def people_managed_reach(scope: Scope) -> Q:
    """Organisations whose people one manages (``can_manage_people``), as a ``Partner`` filter."""
    if scope.is_superuser or MemberRole.ADMIN in scope.ilo_roles:
        return EVERYTHING
    if scope.is_ilo_decider:
        return ~Q(kind="ilo")
    admin_of = [p for p in scope.partner_ids if scope.role_in(p) == MemberRole.ADMIN]
    return Q(pk__in=admin_of) if admin_of else NOTHING


def can_onboard_partners(scope: Scope) -> bool:
    """ILO admins and staff create partner organisations and invite their first admin."""
    return scope.is_ilo_decider


def can_certify_trainers(scope: Scope) -> bool:
    """ILO admins and staff certify trainers for modules, and revoke certifications."""
    return scope.is_ilo_decider


def can_list_trainers(scope: Scope) -> bool:
    """The trainers' list: the ILO sees every trainer, a provider's staff their own trainers;
    a trainer alone reaches only their own page."""
    return scope.sees_everything or bool(scope.provider_staff_ids)


def trainer_reach(scope: Scope) -> Q:
    """Trainers (people) whose page one sees: oneself, the trainers of the providers one
    works for (not as a trainer), and every trainer for the ILO. A ``User`` filter, applied
    to people holding a trainer membership."""
    if scope.sees_everything:
        return EVERYTHING
    reach = Q(pk=scope.user_id) if scope.user_id is not None else NOTHING
    if scope.provider_staff_ids:
        reach |= Q(
            memberships__partner_id__in=scope.provider_staff_ids,
            memberships__role=MemberRole.TRAINER,
        )
    return reach


def factory_inviter_reach(scope: Scope, model: type[Model]) -> Q:
    """Factories whose manager one may invite: those on the supplier list of a brand one acts
    for, those in the enrolments of the providers one acts for, and all for ILO admins and
    staff. A ``Factory`` filter."""
    if scope.is_ilo_decider:
        return EVERYTHING
    branches = []
    if scope.funding_acting_ids:
        listed = _related(model, "brand_links")._default_manager.filter(
            brand_id__in=scope.funding_acting_ids
        )
        branches.append(Q(pk__in=listed.values("factory_id")))
    organising = organising_provider_ids(scope)
    if organising:
        enrolment = _related(model, "enrolments")
        cohort = _related(enrolment, "cohort")
        organised = cohort._default_manager.filter(provider_id__in=organising)
        seen = enrolment._default_manager.filter(cohort_id__in=organised.values("pk"))
        branches.append(Q(pk__in=seen.values("factory_id")))
    return _any(branches)


def tools(scope: Scope) -> list[str]:
    """The person's menu's tools beside their profile: the organisations whose people they
    manage, and the trainers' pages (the ILO's, and a provider's own)."""
    if not scope.is_authenticated:
        return []
    shown = {
        "organisations": scope.is_superuser
        or scope.is_ilo_decider
        or any(scope.role_in(p) == MemberRole.ADMIN for p in scope.partner_ids),
        "trainers": can_list_trainers(scope),
        # A trainer's own page: their certifications.
        "certifications": scope.is_trainer
        and not (scope.sees_everything or scope.provider_staff_ids),
    }
    return [tool for tool, show in shown.items() if show]


# --- The menu ------------------------------------------------------------------------------


def menu(scope: Scope) -> list[str]:
    """The sections a person's navigation shows, in order (the labels are the menu's)."""
    if not scope.is_authenticated:
        return []
    everything = scope.sees_everything
    shown = {
        "home": True,
        "partnerships": everything or bool(scope.partner_ids),
        "suppliers": everything or bool(scope.funding_ids or scope.factory_ids),
        "imports": everything or bool(scope.funding_ids),
        "progress": bool(scope.funding_ids),
        "results": bool(scope.funding_ids),
        "programme_results": everything,
        "cohorts": everything or bool(scope.provider_ids),
        "enrolments": scope.primary_role != Role.NONE,
        "certificates": everything or bool(scope.funding_ids or scope.factory_ids),
        "modules": True,
        "administration": scope.is_staff,
    }
    return [section for section, show in shown.items() if show]
