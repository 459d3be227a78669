"""Co-funding (README, "Co-funding"): a second brand offers to pay a share of an enrolment
another brand leads; the lead agrees or declines; places, budgets and pages count each share."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from partners.models import Membership, Partnership
from partners.selectors import ledger_of, partnerships_with_ledger
from partners.services import add_member
from score_portal.models import Notice, OutboundEmail
from score_portal.scope import scope_of
from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory, PartnerFactory, PartnershipFactory, UserFactory
from training.models import CoFunding, Enrolment, Module
from training.services import cofunding as cofunding_services
from training.services import enrolment as services
from training.services.enrolment import TrainingError

pytestmark = pytest.mark.django_db

HALF = Decimal("0.50")


@pytest.fixture
def shared(world, other_brand):
    """Brand A's enrolled factory is on brand B's list too."""
    link_supplier(brand=other_brand, factory=world.factory, supplier_code="B-777")
    return world


def _propose(world, actor, share=HALF, partnership=None):
    return cofunding_services.propose_cofunding(
        enrolment=world.enrolment,
        partnership=partnership or world.other_partnership,
        share=share,
        actor=actor,
    )


def _agreed(world, brand_staff, other_brand_staff, share=HALF):
    proposal = _propose(world, other_brand_staff, share)
    return cofunding_services.agree_cofunding(cofunding=proposal, actor=brand_staff)


def _shares_sum(enrolment):
    enrolment.refresh_from_db()
    return enrolment.lead_share + sum(c.share for c in enrolment.cofundings.filter(in_force=True))


# --- The offer instead of the refusal -------------------------------------------------------


def test_the_second_brand_is_offered_to_cofund_instead_of_refused(
    shared, other_brand, other_brand_staff, module_1
):
    [result] = services.enrol_suppliers(
        brand=other_brand,
        factories=[shared.factory],
        module=module_1,
        partnership=shared.other_partnership,
        actor=other_brand_staff,
    )
    assert not result.enrolled
    assert result.cofundable == shared.enrolment
    assert "Brand A already funds this enrolment" in result.refusal
    # Once offered, the result points at the open proposal instead.
    proposal = _propose(shared, other_brand_staff)
    [again] = services.enrol_suppliers(
        brand=other_brand,
        factories=[shared.factory],
        module=module_1,
        partnership=shared.other_partnership,
        actor=other_brand_staff,
    )
    assert again.cofundable is None and again.cofunding == proposal


def test_the_enrol_page_links_to_the_offer(shared, other_brand, other_brand_staff, module_1):
    response = client_for(other_brand_staff).post(
        "/training/enrol/",
        {
            "brand": other_brand.pk,
            "factories": [shared.factory.pk],
            "module": module_1.pk,
            "partnership": shared.other_partnership.pk,
        },
    )
    assert response.status_code == 200
    offer = f"/training/enrolments/{shared.enrolment.pk}/cofund/?brand={other_brand.pk}"
    assert offer in response.content.decode()


# --- Proposal, agreement, decline, end ------------------------------------------------------


def test_a_proposal_tells_the_lead_funders_acting_people(
    shared, brand, brand_staff, brand_viewer, other_brand_staff
):
    OutboundEmail.objects.all().delete()
    proposal = _propose(shared, other_brand_staff)
    assert proposal.status == CoFunding.Status.PROPOSED
    assert list(
        OutboundEmail.objects.filter(template="cofunding_proposed").values_list("to", flat=True)
    ) == [brand_staff.email]
    assert Notice.objects.filter(recipient=brand_staff, link=proposal.get_absolute_url()).exists()
    # Nothing counts before the agreement.
    shared.enrolment.refresh_from_db()
    assert shared.enrolment.lead_share == 1
    assert ledger_of(shared.other_partnership).funded == 1  # B's own enrolment only
    assert not Enrolment.objects.visible_to(scope_of(other_brand_staff)).filter(
        pk=shared.enrolment.pk
    )


def test_agreement_splits_the_shares_places_and_budget(shared, brand_staff, other_brand_staff):
    agreed = _agreed(shared, brand_staff, other_brand_staff)
    assert agreed.status == CoFunding.Status.AGREED and agreed.decided_by == brand_staff
    assert _shares_sum(shared.enrolment) == 1
    assert shared.enrolment.lead_share == HALF
    lead, cofunder = ledger_of(shared.partnership), ledger_of(shared.other_partnership)
    assert lead.funded == HALF and cofunder.funded == Decimal("1.50")  # B's own + half
    # Budget = share × (budget ÷ quota): 50,000 / 10 = 5,000 a place.
    assert lead.budget_committed == Decimal("2500.00")
    assert cofunder.budget_committed == Decimal("7500.00")
    # The list's annotation counts the same as the ledger.
    listed = {p.pk: p.factories_funded for p in partnerships_with_ledger(scope_of(brand_staff))}
    assert listed[shared.partnership.pk] == HALF
    # The co-funder now sees the enrolment; its people were told.
    assert Enrolment.objects.visible_to(scope_of(other_brand_staff)).filter(pk=shared.enrolment.pk)
    assert OutboundEmail.objects.filter(
        template="cofunding_answered", to=other_brand_staff.email
    ).exists()


def test_a_factory_funded_alone_in_another_module_stays_one_place(
    shared, brand, brand_staff, other_brand_staff, module_1
):
    module_2 = Module.objects.get(code="M2")
    shared.partnership.modules.add(module_2)
    services.enrol_factory(
        factory=shared.factory,
        module=module_2,
        partnership=shared.partnership,
        enrolled_by=brand_staff,
    )
    _agreed(shared, brand_staff, other_brand_staff)
    assert ledger_of(shared.partnership).funded == 1  # A still funds module 2 alone


def test_decline_leaves_everything_as_it_was(shared, brand_staff, other_brand_staff):
    proposal = _propose(shared, other_brand_staff)
    declined = cofunding_services.decline_cofunding(
        cofunding=proposal, actor=brand_staff, reason="We pay it all"
    )
    assert declined.status == CoFunding.Status.DECLINED
    assert _shares_sum(shared.enrolment) == 1 and shared.enrolment.lead_share == 1
    assert ledger_of(shared.other_partnership).funded == 1
    # A new offer may follow a declined one.
    assert _propose(shared, other_brand_staff).status == CoFunding.Status.PROPOSED


def test_ending_a_share_gives_it_back_to_the_lead(shared, brand_staff, other_brand_staff):
    agreed = _agreed(shared, brand_staff, other_brand_staff, share=Decimal("0.30"))
    shared.enrolment.refresh_from_db()
    assert shared.enrolment.lead_share == Decimal("0.70")
    with pytest.raises(TrainingError, match="reason"):
        cofunding_services.end_cofunding(cofunding=agreed, actor=other_brand_staff, reason=" ")
    ended = cofunding_services.end_cofunding(
        cofunding=agreed, actor=other_brand_staff, reason="Budget cut"
    )
    assert ended.status == CoFunding.Status.ENDED
    assert _shares_sum(shared.enrolment) == 1 and shared.enrolment.lead_share == 1
    assert ledger_of(shared.partnership).funded == 1
    assert ledger_of(shared.other_partnership).funded == 1
    assert not Enrolment.objects.visible_to(scope_of(other_brand_staff)).filter(
        pk=shared.enrolment.pk
    )


def test_withdrawing_the_enrolment_releases_every_share(shared, brand_staff, other_brand_staff):
    _agreed(shared, brand_staff, other_brand_staff)
    services.withdraw_enrolment(enrolment=shared.enrolment, actor=brand_staff, reason="Closed")
    assert ledger_of(shared.partnership).funded == 0
    assert ledger_of(shared.other_partnership).funded == 1


def test_three_funders_still_sum_to_one(shared, brand_staff, other_brand_staff):
    third = PartnerFactory(name="Brand C", kind="brand")
    third_staff = UserFactory(email="staff@brand-c.example.org")
    add_member(partner=third, user=third_staff, role=Membership.Role.STAFF)
    link_supplier(brand=third, factory=shared.factory, supplier_code="C-1")
    third_partnership = PartnershipFactory(partner=third, modules=[shared.enrolment.module])
    _agreed(shared, brand_staff, other_brand_staff, share=Decimal("0.40"))
    # The lead keeps a share: offering as much as it holds (60 %) is refused.
    with pytest.raises(TrainingError, match="60%"):
        _propose(shared, third_staff, Decimal("0.60"), partnership=third_partnership)
    proposal = _propose(shared, third_staff, Decimal("0.25"), partnership=third_partnership)
    cofunding_services.agree_cofunding(cofunding=proposal, actor=brand_staff)
    assert _shares_sum(shared.enrolment) == 1
    assert shared.enrolment.lead_share == Decimal("0.35")


# --- Refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("percent", ["0", "100", "-5", "50.5", "abc", "", "1e3", "NaN"])
def test_a_share_is_a_whole_percentage_below_100(percent):
    with pytest.raises(TrainingError, match="whole percentage"):
        cofunding_services.share_from_percent(percent)


def test_share_bounds_are_kept_by_the_service(shared, other_brand_staff):
    for share in (Decimal(0), Decimal(1), Decimal("1.5")):
        with pytest.raises(TrainingError):
            _propose(shared, other_brand_staff, share)
    assert not CoFunding.objects.exists()


def test_only_another_brands_enrolment_of_a_listed_supplier(world, brand_staff, other_brand_staff):
    # Not on B's list.
    with pytest.raises(TrainingError, match="cannot be co-funded"):
        _propose(world, other_brand_staff)
    # A's own enrolment, by A.
    with pytest.raises(TrainingError, match="cannot be co-funded"):
        _propose(world, brand_staff, partnership=world.partnership)


def test_a_viewer_cannot_propose(shared, other_brand):
    viewer = UserFactory(email="viewer@brand-b.example.org")
    add_member(partner=other_brand, user=viewer, role=Membership.Role.VIEWER)
    with pytest.raises(TrainingError, match="administrators and staff"):
        _propose(shared, viewer)


def test_only_the_lead_funders_acting_people_decide(
    shared, brand_viewer, other_brand_staff, ilo_admin
):
    proposal = _propose(shared, other_brand_staff)
    for person in (other_brand_staff, brand_viewer, ilo_admin):
        with pytest.raises(TrainingError, match="lead funder"):
            cofunding_services.agree_cofunding(cofunding=proposal, actor=person)
    proposal.refresh_from_db()
    assert proposal.status == CoFunding.Status.PROPOSED


def test_agreement_is_refused_when_the_cofunders_places_are_used_up(
    shared, brand_staff, other_brand_staff
):
    Partnership.objects.filter(pk=shared.other_partnership.pk).update(factory_quota=1)
    proposal = _propose(shared, other_brand_staff)
    with pytest.raises(TrainingError, match="quota of 1 factories is used up"):
        cofunding_services.agree_cofunding(cofunding=proposal, actor=brand_staff)
    proposal.refresh_from_db()
    shared.enrolment.refresh_from_db()
    assert proposal.status == CoFunding.Status.PROPOSED  # nothing half-written
    assert shared.enrolment.lead_share == 1


def test_agreement_is_refused_when_the_cofunders_partnership_no_longer_funds(
    shared, brand_staff, other_brand_staff
):
    proposal = _propose(shared, other_brand_staff)
    Partnership.objects.filter(pk=shared.other_partnership.pk).update(
        status=Partnership.Status.SUSPENDED
    )
    with pytest.raises(TrainingError, match="cannot fund new enrolments"):
        cofunding_services.agree_cofunding(cofunding=proposal, actor=brand_staff)


def test_a_decided_proposal_cannot_be_decided_again(shared, brand_staff, other_brand_staff):
    agreed = _agreed(shared, brand_staff, other_brand_staff)
    with pytest.raises(TrainingError, match="cannot move"):
        cofunding_services.agree_cofunding(cofunding=agreed, actor=brand_staff)
    assert _shares_sum(shared.enrolment) == 1 and shared.enrolment.lead_share == HALF


def test_the_database_keeps_shares_fractions(shared, other_brand_staff):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.filter(pk=shared.enrolment.pk).update(lead_share=0)
    proposal = _propose(shared, other_brand_staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        CoFunding.objects.filter(pk=proposal.pk).update(share=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CoFunding.objects.create(
            enrolment=shared.enrolment, partnership=shared.other_partnership, share=HALF
        )


# --- Pages and tenancy ----------------------------------------------------------------------


def test_the_journey_through_the_pages(shared, other_brand, brand_staff, other_brand_staff):
    b = client_for(other_brand_staff)
    url = f"/training/enrolments/{shared.enrolment.pk}/cofund/?brand={other_brand.pk}"
    page = b.get(url)
    assert page.status_code == 200 and "Brand A" in page.content.decode()
    # A bad share comes back beside its field, with what was typed.
    sent = {"partnership": shared.other_partnership.pk, "percent": "150", "note": "Half each?"}
    refused = b.post(url, sent)
    assert refused.status_code == 400 and "Half each?" in refused.content.decode()
    done = b.post(url, {**sent, "percent": "40"})
    proposal = CoFunding.objects.get()
    assert done.status_code == 302 and done.url == proposal.get_absolute_url()
    a = client_for(brand_staff)
    detail = a.get(proposal.get_absolute_url()).content.decode()
    assert "Agree to co-funding" in detail
    assert a.post(f"/training/cofunding/{proposal.pk}/agree/").status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == CoFunding.Status.AGREED
    enrolment_page = b.get(shared.enrolment.get_absolute_url()).content.decode()
    assert "Brand B programme" in enrolment_page and "60%" in enrolment_page
    assert "40%" in enrolment_page


def test_outsiders_get_404(shared, brand, other_brand, brand_staff, other_brand_staff, world):
    third = PartnerFactory(name="Brand C", kind="brand")
    third_staff = UserFactory(email="staff@brand-c.example.org")
    add_member(partner=third, user=third_staff, role=Membership.Role.STAFF)
    proposal = _propose(shared, other_brand_staff)
    c = client_for(third_staff)
    assert c.get(proposal.get_absolute_url()).status_code == 404
    assert c.post(f"/training/cofunding/{proposal.pk}/agree/").status_code == 404
    assert c.post(f"/training/cofunding/{proposal.pk}/end/", {"end-reason": "x"}).status_code == 404
    # The offer page: only for a supplier on one's own list, another brand's enrolment.
    offer = f"/training/enrolments/{shared.enrolment.pk}/cofund/"
    assert c.get(offer).status_code == 404
    assert client_for(brand_staff).get(offer).status_code == 404  # its own enrolment
    assert (
        client_for(other_brand_staff)
        .get(f"/training/enrolments/{world.other_enrolment.pk}/cofund/")
        .status_code
        == 404
    )
    assert (
        client_for(other_brand_staff)
        .get("/training/enrolments/99999999999999999999/cofund/")
        .status_code
        == 404
    )
    assert c.get("/training/cofunding/99999999999999999999/").status_code == 404
    # Agreed, a third brand still sees neither the enrolment nor the share.
    cofunding_services.agree_cofunding(cofunding=proposal, actor=brand_staff)
    assert c.get(shared.enrolment.get_absolute_url()).status_code == 404
    assert not Enrolment.objects.visible_to(scope_of(third_staff)).exists()
    assert not CoFunding.objects.visible_to(scope_of(third_staff)).exists()


def test_the_visible_enrolments_are_not_repeated(shared, brand_staff, other_brand_staff):
    _agreed(shared, brand_staff, other_brand_staff)
    for person in (brand_staff, other_brand_staff):
        visible = Enrolment.objects.visible_to(scope_of(person))
        ids = list(visible.values_list("pk", flat=True))
        assert len(ids) == len(set(ids))
    assert Enrolment.objects.funded_by(shared.other_partnership.partner_id).count() == 2


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_agreements_never_overfill_the_cofunders_places(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    module_1 = Module.objects.get(code="M1")
    lead_brand = PartnerFactory(name="Lead", kind="brand")
    cofunder = PartnerFactory(name="Cofunder", kind="brand")
    lead_staff = UserFactory(email="lead@example.org")
    cofunder_staff = UserFactory(email="cofunder@example.org")
    add_member(partner=lead_brand, user=lead_staff, role=Membership.Role.STAFF)
    add_member(partner=cofunder, user=cofunder_staff, role=Membership.Role.STAFF)
    lead_partnership = PartnershipFactory(partner=lead_brand, modules=[module_1])
    # Half a place left: one of two half shares fits.
    small = PartnershipFactory(partner=cofunder, modules=[module_1], factory_quota=1)
    proposals = []
    for n in range(2):
        factory = FactoryFactory(country="CN")
        link_supplier(brand=lead_brand, factory=factory, supplier_code=f"L-{n}")
        link_supplier(brand=cofunder, factory=factory, supplier_code=f"C-{n}")
        enrolment = services.enrol_factory(
            factory=factory, module=module_1, partnership=lead_partnership, enrolled_by=None
        )
        proposals.append(
            cofunding_services.propose_cofunding(
                enrolment=enrolment, partnership=small, share=HALF, actor=cofunder_staff
            )
        )
    filler = FactoryFactory(country="CN")
    link_supplier(brand=cofunder, factory=filler, supplier_code="C-x")
    third = PartnershipFactory(partner=lead_brand, modules=[module_1])
    enrolment = services.enrol_factory(
        factory=filler, module=module_1, partnership=third, enrolled_by=None
    )
    # Fill half of the small partnership's place with an agreed share first.
    first = cofunding_services.propose_cofunding(
        enrolment=enrolment, partnership=small, share=HALF, actor=cofunder_staff
    )
    cofunding_services.agree_cofunding(cofunding=first, actor=lead_staff)
    barrier = threading.Barrier(len(proposals))
    outcomes: list[str] = []

    def attempt(proposal):
        try:
            barrier.wait()
            cofunding_services.agree_cofunding(cofunding=proposal, actor=lead_staff)
            outcomes.append("agreed")
        except TrainingError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in proposals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("agreed") == 1, outcomes
    assert ledger_of(Partnership.objects.get(pk=small.pk)).funded == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_agreements_of_one_enrolment_keep_the_sum(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    module_1 = Module.objects.get(code="M1")
    lead_brand = PartnerFactory(name="Lead", kind="brand")
    lead_staff = UserFactory(email="lead@example.org")
    add_member(partner=lead_brand, user=lead_staff, role=Membership.Role.STAFF)
    factory = FactoryFactory(country="CN")
    link_supplier(brand=lead_brand, factory=factory, supplier_code="L-1")
    enrolment = services.enrol_factory(
        factory=factory,
        module=module_1,
        partnership=PartnershipFactory(partner=lead_brand, modules=[module_1]),
        enrolled_by=None,
    )
    proposals = []
    for n in range(3):
        brand = PartnerFactory(name=f"Co {n}", kind="brand")
        staff = UserFactory(email=f"co{n}@example.org")
        add_member(partner=brand, user=staff, role=Membership.Role.STAFF)
        link_supplier(brand=brand, factory=factory, supplier_code=f"C-{n}")
        proposals.append(
            cofunding_services.propose_cofunding(
                enrolment=enrolment,
                partnership=PartnershipFactory(partner=brand, modules=[module_1]),
                share=Decimal("0.40"),
                actor=staff,
            )
        )
    barrier = threading.Barrier(len(proposals))
    outcomes: list[str] = []

    def attempt(proposal):
        try:
            barrier.wait()
            cofunding_services.agree_cofunding(cofunding=proposal, actor=lead_staff)
            outcomes.append("agreed")
        except TrainingError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in proposals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 0.4 + 0.4 leaves the lead 0.2: a third 0.4 would take it to nothing.
    assert outcomes.count("agreed") == 2, outcomes
    assert _shares_sum(enrolment) == 1
    assert enrolment.lead_share == Decimal("0.20")


def test_the_cofunder_reaches_the_certificate_a_third_brand_does_not(
    shared, brand_staff, other_brand_staff
):
    from training.models import Certificate

    _agreed(shared, brand_staff, other_brand_staff)
    certificate = Certificate.objects.create(enrolment=shared.enrolment)
    third = PartnerFactory(name="Brand C", kind="brand")
    third_staff = UserFactory(email="staff@brand-c.example.org")
    add_member(partner=third, user=third_staff, role=Membership.Role.STAFF)
    assert Certificate.objects.visible_to(scope_of(other_brand_staff)).get() == certificate
    assert Certificate.objects.visible_to(scope_of(brand_staff)).get() == certificate
    assert not Certificate.objects.visible_to(scope_of(third_staff)).exists()


def test_a_brands_reach_is_exactly_what_it_leads_or_co_funds_in_force(
    shared, brand, other_brand, brand_staff, other_brand_staff
):
    """``access._funded_reach`` reads the brand's partnerships first: the enrolments it
    reaches stay those whose partnership is the brand's, or with a share in force of one of
    its partnerships, and the co-funding branch is left out only when no share is in force."""
    from django.db.models import Q

    def defined(partner):
        return set(
            Enrolment.objects.filter(
                Q(partnership__partner=partner)
                | Q(cofundings__in_force=True, cofundings__partnership__partner=partner)
            ).values_list("pk", flat=True)
        )

    def reached(person):
        found = Enrolment.objects.visible_to(scope_of(person))
        return set(found.values_list("pk", flat=True)), "training_cofunding" in str(found.query)

    assert reached(other_brand_staff) == (defined(other_brand), False)
    assert reached(brand_staff) == (defined(brand), False)
    agreed = _agreed(shared, brand_staff, other_brand_staff)
    assert reached(other_brand_staff) == (defined(other_brand), True)
    assert shared.enrolment.pk in reached(other_brand_staff)[0]
    assert reached(brand_staff)[0] == defined(brand)
    cofunding_services.end_cofunding(
        cofunding=agreed, actor=other_brand_staff, reason="Budget cut."
    )
    assert reached(other_brand_staff) == (defined(other_brand), False)
    assert shared.enrolment.pk not in reached(other_brand_staff)[0]
