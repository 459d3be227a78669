"""Placing enrolments that wait for a cohort, and the cohort rules placing relies on."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.urls import reverse

from partners.models import Membership, Partner, Partnership
from partners.services import add_member
from score_portal.models import OutboundEmail
from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory, PartnerFactory, PartnershipFactory, UserFactory
from training.models import Enrolment
from training.rules import factory_languages, placement_mismatch
from training.services import create_cohort, enrol_factory
from training.services.enrolment import TrainingError
from training.services.placing import place_enrolments

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(world, brand, brand_staff, module_1):
    """A Chinese supplier of brand A enrolled in Module 1 without a cohort."""
    factory = FactoryFactory(name="宁波海天纺织有限公司")
    link_supplier(brand=brand, factory=factory, supplier_code="A-900")
    return enrol_factory(
        factory=factory, module=module_1, partnership=world.partnership, enrolled_by=brand_staff
    )


@pytest.fixture
def other_provider_staff(db):
    """Staff of a provider that works nowhere the world's factories are."""
    other = PartnerFactory(name="Provider Q", kind=Partner.Kind.SERVICE_PROVIDER, country="FR")
    user = UserFactory(email="coordinator@provider-q.example.org")
    add_member(partner=other, user=user, role=Membership.Role.STAFF)
    return user


def _place(user, enrolments, cohort, reason=""):
    return client_for(user).post(
        reverse("training:placing_queue"),
        {"enrolments": [e.pk for e in enrolments], "cohort": cohort.pk, "reason": reason},
    )


# --- Who sees a waiting enrolment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("provider_staff", 200),  # delivers Module 1 (certified trainer) in China (a cohort)
        ("brand_staff", 200),  # funds it
        ("ilo_admin", 200),
        ("other_provider_staff", 404),
        ("other_brand_staff", 404),
        ("trainer", 404),  # not in one of their cohorts yet
        ("factory_manager", 404),  # another factory's
    ],
)
def test_a_waiting_enrolment_is_seen_by_the_providers_that_may_place_it(
    request, waiting, persona, expected
):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(waiting.get_absolute_url()).status_code == expected


def test_a_provider_does_not_see_a_waiting_enrolment_in_a_country_it_does_not_serve(
    world, provider_staff
):
    # Özdemir (Türkiye) waits too; the provider works in China only.
    assert client_for(provider_staff).get(world.other_enrolment.get_absolute_url()).status_code == (
        404
    )
    queue = client_for(provider_staff).get(reverse("training:placing_queue")).text
    assert "Özdemir" not in queue


def test_a_licence_covering_the_country_brings_its_queue(world, provider, provider_staff):
    PartnershipFactory(
        partner=provider, kind=Partnership.Kind.LICENCE, countries=["TR"], title="Licence TR"
    )
    assert client_for(provider_staff).get(world.other_enrolment.get_absolute_url()).status_code == (
        200
    )
    # Not an approved one: nothing.
    Partnership.objects.filter(partner=provider).update(status=Partnership.Status.SUSPENDED)
    assert client_for(provider_staff).get(world.other_enrolment.get_absolute_url()).status_code == (
        404
    )


def test_a_provider_without_a_certified_trainer_for_the_module_sees_nothing(
    waiting, provider_staff, trainer
):
    trainer.certifications.update(valid_until=datetime.date(2024, 12, 31))
    assert client_for(provider_staff).get(waiting.get_absolute_url()).status_code == 404


def test_placed_enrolments_leave_the_queue_and_a_second_provider_never_sees_them(
    waiting, world, provider_staff, other_provider_staff
):
    assert _place(provider_staff, [waiting], world.cohort).status_code == 302
    waiting.refresh_from_db()
    assert waiting.cohort == world.cohort
    # Reached now as an enrolment of the provider's cohort; still nobody else's.
    assert client_for(other_provider_staff).get(waiting.get_absolute_url()).status_code == 404


# --- The queue: home page and list --------------------------------------------------------


def test_the_providers_home_and_queue_list_the_waiting_enrolments(waiting, provider_staff):
    home = client_for(provider_staff).get("/").text
    assert "Waiting for a cohort" in home
    assert "宁波海天纺织有限公司" in home
    assert "waiting 0 days" in home
    queue = client_for(provider_staff).get(reverse("training:placing_queue"))
    assert queue.status_code == 200
    assert "宁波海天纺织有限公司" in queue.text


@pytest.mark.parametrize("persona", ["brand_staff", "factory_manager", "trainer"])
def test_the_queue_page_is_for_providers_and_the_ilo(request, world, persona):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(reverse("training:placing_queue")).status_code == 404


def test_outsiders_cannot_place_by_posting(waiting, world, other_provider_staff, brand_staff):
    for user in (other_provider_staff, brand_staff):
        assert _place(user, [waiting], world.cohort).status_code in (400, 403, 404)
    waiting.refresh_from_db()
    assert waiting.cohort is None


def test_a_provider_cannot_place_into_another_providers_cohort(
    waiting, world, provider_staff, module_1
):
    other = PartnerFactory(name="Provider R", kind=Partner.Kind.SERVICE_PROVIDER)
    other_trainer = UserFactory()
    add_member(partner=other, user=other_trainer, role=Membership.Role.TRAINER)
    from training.services import certify_trainer

    certify_trainer(trainer=other_trainer, module=module_1, certified_on=datetime.date(2024, 1, 1))
    foreign = create_cohort(
        module=module_1,
        provider=other,
        trainer=other_trainer,
        venue_city="Shenzhen",
        venue_country="CN",
        language="zh-hans",
        classroom_start=datetime.date.today() + datetime.timedelta(days=30),
        classroom_end=datetime.date.today() + datetime.timedelta(days=31),
    )
    response = _place(provider_staff, [waiting], foreign)
    assert response.status_code == 400  # not a choice offered to this provider
    waiting.refresh_from_db()
    assert waiting.cohort is None


# --- Placing -------------------------------------------------------------------------------


def test_coordinator_places_a_waiting_enrolment_and_the_factory_is_told(
    waiting, world, provider_staff
):
    manager = UserFactory(email="manager@haitian.example.org")
    from suppliers.services import add_factory_manager

    add_factory_manager(factory=waiting.factory, user=manager)
    mail.outbox.clear()
    response = _place(provider_staff, [waiting], world.cohort)
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.cohort == world.cohort
    assert waiting.placed_by == provider_staff
    assert waiting.placed_at is not None
    assert waiting.placement_reason == ""
    email = OutboundEmail.objects.get(to=manager.email, template="enrolment_placed")
    assert "Dongguan" in email.body_text
    # The brand sees how long it waited.
    page = client_for(world.enrolment.enrolled_by).get(waiting.get_absolute_url()).text
    assert "placed after 0 days" in page


def test_placing_respects_the_cohorts_capacity(world, brand, brand_staff, module_1, provider_staff):
    world.cohort.capacity = 2
    world.cohort.save()
    waiting = []
    for n in range(2):
        factory = FactoryFactory()
        link_supplier(brand=brand, factory=factory, supplier_code=f"A-9{n}")
        waiting.append(
            enrol_factory(
                factory=factory,
                module=module_1,
                partnership=world.partnership,
                enrolled_by=brand_staff,
            )
        )
    response = _place(provider_staff, waiting, world.cohort)
    assert response.status_code == 400
    assert "The cohort has 1 place left; you chose 2 enterprises." in response.text
    # The ticks are kept.
    assert response.text.count("checked") >= 2
    assert not Enrolment.objects.filter(pk__in=[e.pk for e in waiting], cohort__isnull=False)
    assert _place(provider_staff, waiting[:1], world.cohort).status_code == 302
    assert _place(provider_staff, waiting[1:], world.cohort).status_code == 400


def test_placing_outside_the_factorys_country_needs_a_recorded_reason(
    world, provider, provider_staff, other_factory_manager, other_brand_staff
):
    PartnershipFactory(partner=provider, kind=Partnership.Kind.LICENCE, countries=["TR"])
    ozdemir = world.other_enrolment
    response = _place(provider_staff, [ozdemir], world.cohort)
    assert response.status_code == 400
    assert "Özdemir Tekstil A.Ş. is in Turkey; the cohort is in China." in response.text.replace(
        "Türkiye", "Turkey"
    )
    assert 'id="id_reason_error"' in response.text
    ozdemir.refresh_from_db()
    assert ozdemir.cohort is None
    reason = "No Turkish cohort before June; the factory's managers read Chinese."
    assert _place(provider_staff, [ozdemir], world.cohort, reason).status_code == 302
    ozdemir.refresh_from_db()
    assert ozdemir.cohort == world.cohort
    assert ozdemir.placement_reason == reason
    page = client_for(other_brand_staff).get(ozdemir.get_absolute_url()).text
    assert "Why this cohort" in page
    assert "No Turkish cohort before June" in page


def test_a_placement_service_refuses_a_started_cohort(waiting, world, provider_staff):
    world.cohort.classroom_start = datetime.date.today() - datetime.timedelta(days=1)
    world.cohort.save()
    with pytest.raises(TrainingError, match="classroom began on"):
        place_enrolments(enrolments=[waiting], cohort=world.cohort, actor=provider_staff)


def test_a_placed_enrolment_cannot_be_placed_again(waiting, world, provider_staff):
    place_enrolments(enrolments=[waiting], cohort=world.cohort, actor=provider_staff)
    with pytest.raises(TrainingError, match="not waiting for a cohort"):
        place_enrolments(enrolments=[waiting], cohort=world.cohort, actor=provider_staff)


# --- Enrolling straight into a cohort: the same local rule ----------------------------------


def test_enrolling_a_turkish_factory_into_a_chinese_cohort_needs_a_reason(
    world, brand, brand_staff, module_1
):
    turkish = FactoryFactory(name="Çağlar Konfeksiyon", country="TR", city="Bursa", language="tr")
    link_supplier(brand=brand, factory=turkish, supplier_code="A-TR1")
    data = {
        "brand": brand.pk,
        "factories": [turkish.pk],
        "module": module_1.pk,
        "partnership": world.partnership.pk,
        "cohort": world.cohort.pk,
    }
    client = client_for(brand_staff)
    response = client.post(reverse("training:enrol"), data)
    assert response.status_code == 400
    assert 'id="id_placement_reason_error"' in response.text
    assert "the cohort is taught in Simplified Chinese" in response.text
    assert not Enrolment.objects.filter(factory=turkish).exists()
    data["placement_reason"] = "The buyer's sourcing office runs the Dongguan cohort in person."
    response = client.post(reverse("training:enrol"), data)
    assert response.status_code == 200
    enrolment = Enrolment.objects.get(factory=turkish)
    assert enrolment.cohort == world.cohort
    assert enrolment.placement_reason.startswith("The buyer's sourcing office")
    assert enrolment.placed_at is not None


def test_the_service_refuses_a_foreign_cohort_without_reason(world, brand_staff, module_1):
    turkish = FactoryFactory(country="TR", language="tr")
    with pytest.raises(TrainingError) as refusal:
        enrol_factory(
            factory=turkish,
            module=module_1,
            partnership=world.partnership,
            enrolled_by=brand_staff,
            cohort=world.cohort,
        )
    assert refusal.value.field == "placement_reason"


def test_a_factorys_languages_are_its_own_and_its_countrys():
    chinese = FactoryFactory.build(country="CN", language="en")
    assert factory_languages(chinese) == {"en", "zh-hans"}
    turkish = FactoryFactory.build(country="TR", language="tr")
    assert factory_languages(turkish) == {"tr"}


def test_a_local_cohort_needs_no_reason(world):
    assert placement_mismatch(world.factory, world.cohort) == ""
    assert placement_mismatch(world.other_factory, world.cohort)


# --- Concurrency: two coordinators placing into the last place --------------------------


@pytest.mark.django_db(transaction=True)
def test_two_placements_at_once_never_overfill_a_cohort(world, brand, brand_staff, module_1):
    """On PostgreSQL two threads place into the last place at once: one wins."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    coordinator = UserFactory()
    add_member(partner=world.cohort.provider, user=coordinator, role=Membership.Role.STAFF)
    world.cohort.capacity = 2
    world.cohort.save()
    waiting = []
    for n in range(2):
        factory = FactoryFactory()
        link_supplier(brand=brand, factory=factory, supplier_code=f"A-C{n}")
        waiting.append(
            enrol_factory(
                factory=factory, module=module_1, partnership=world.partnership, enrolled_by=None
            )
        )

    def place(enrolment):
        from django.db import connection as thread_connection

        try:
            place_enrolments(enrolments=[enrolment], cohort=world.cohort, actor=coordinator)
            return "placed"
        except TrainingError as error:
            return str(error)
        finally:
            thread_connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(place, waiting))
    assert outcomes.count("placed") == 1
    assert world.cohort.enrolments.filter(holds_place=True).count() == 2
