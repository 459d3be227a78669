"""The ILO certifies trainers from their page; a factory's manager is invited from the
factory's page by the brand or provider working with it."""

from __future__ import annotations

import datetime

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import user_logged_in
from django.urls import reverse
from django.utils import timezone

from score_portal.models import OutboundEmail
from suppliers.models import FactoryManager
from tests.conftest import client_for
from tests.factories import UserFactory
from training.models import FactoryInvitation, Module, TrainerCertification
from training.services.enrolment import (
    TrainingError,
    certify_trainer,
    invite_factory_manager,
    revoke_certification,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def module_2(catalogue) -> Module:
    return Module.objects.get(code="M2")


# --- Trainers ------------------------------------------------------------------------------


def test_the_ilo_certifies_with_dates_and_revokes(ilo_admin, trainer, module_2):
    today = timezone.localdate()
    certification = certify_trainer(
        trainer=trainer,
        module=module_2,
        certified_on=today,
        valid_until=today + datetime.timedelta(days=730),
        actor=ilo_admin,
    )
    assert certification.valid_until == today + datetime.timedelta(days=730)
    assert certification.history.latest("history_date").history_user == ilo_admin
    revoke_certification(certification=certification, actor=ilo_admin)
    assert not TrainerCertification.objects.filter(trainer=trainer, module=module_2).exists()
    assert TrainerCertification.history.filter(module=module_2, history_type="-").exists()


def test_certification_rules(ilo_admin, trainer, brand_staff, provider_staff, module_2):
    today = timezone.localdate()
    with pytest.raises(TrainingError, match="future") as error:
        certify_trainer(
            trainer=trainer,
            module=module_2,
            certified_on=today + datetime.timedelta(days=1),
            actor=ilo_admin,
        )
    assert error.value.field == "certified_on"
    with pytest.raises(TrainingError, match="expiry") as error:
        certify_trainer(
            trainer=trainer,
            module=module_2,
            certified_on=today,
            valid_until=today - datetime.timedelta(days=1),
            actor=ilo_admin,
        )
    assert error.value.field == "valid_until"
    with pytest.raises(TrainingError, match="not a trainer"):
        certify_trainer(trainer=brand_staff, module=module_2, certified_on=today, actor=ilo_admin)
    for not_ilo in (provider_staff, trainer):
        with pytest.raises(TrainingError, match="Only ILO"):
            certify_trainer(trainer=trainer, module=module_2, certified_on=today, actor=not_ilo)


def test_trainer_page_is_seen_by_the_trainer_their_provider_and_the_ilo(
    request, trainer, provider_staff, ilo_admin, brand_staff, other_brand_staff
):
    url = reverse("training:trainer_detail", args=[trainer.pk])
    for persona in (trainer, provider_staff, ilo_admin):
        response = client_for(persona).get(url)
        assert response.status_code == 200
        assert "Workplace Cooperation" in response.content.decode()
    for outsider in (brand_staff, other_brand_staff):
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(outsider).get(reverse("training:trainer_list")).status_code == 404
    # Only the ILO sees the certify form.
    assert "Certify for a module" in client_for(ilo_admin).get(url).content.decode()
    assert "Certify for a module" not in client_for(provider_staff).get(url).content.decode()


def test_certifying_from_the_page(ilo_admin, trainer, provider_staff, module_2):
    url = reverse("training:certification_add", args=[trainer.pk])
    today = timezone.localdate()
    # The provider's staff see the page but cannot certify: 404 on the action.
    assert (
        client_for(provider_staff)
        .post(url, {"module": module_2.pk, "certified_on": today.isoformat()})
        .status_code
        == 404
    )
    client = client_for(ilo_admin)
    bad = client.post(
        url,
        {
            "module": module_2.pk,
            "certified_on": today.isoformat(),
            "valid_until": (today - datetime.timedelta(days=3)).isoformat(),
        },
    )
    assert bad.status_code == 400
    assert "id_valid_until_error" in bad.content.decode()
    good = client.post(url, {"module": module_2.pk, "certified_on": today.isoformat()})
    assert good.status_code == 302
    certification = TrainerCertification.objects.get(trainer=trainer, module=module_2)
    revoke = reverse("training:certification_revoke", args=[trainer.pk, certification.pk])
    assert client_for(provider_staff).post(revoke).status_code == 404
    assert client.post(revoke).status_code == 302
    assert not TrainerCertification.objects.filter(pk=certification.pk).exists()


# --- Factory managers ------------------------------------------------------------------------


def test_the_brand_invites_its_suppliers_manager_who_joins_on_verification(world, brand_staff):
    invitation = invite_factory_manager(
        factory=world.factory, email="Owner@Mill.example.org", actor=brand_staff
    )
    assert invitation.email == "owner@mill.example.org"
    email = OutboundEmail.objects.get(template="factory_manager_invitation")
    assert "/accounts/signup/" in email.body_text
    # Inviting again resends the same invitation (one open per factory and address).
    invite_factory_manager(factory=world.factory, email="owner@mill.example.org", actor=brand_staff)
    assert FactoryInvitation.objects.filter(factory=world.factory).count() == 1
    # An existing account with that address verified joins at its next sign-in.
    person = UserFactory(email="owner@mill.example.org")
    user_logged_in.send(sender=type(person), request=None, user=person)
    assert FactoryManager.objects.filter(factory=world.factory, user=person).exists()


def test_an_unverified_address_does_not_join(world, brand_staff):
    invite_factory_manager(factory=world.factory, email="owner@mill.example.org", actor=brand_staff)
    person = UserFactory(email="someone@example.org")
    EmailAddress.objects.create(user=person, email="owner@mill.example.org", verified=False)
    user_logged_in.send(sender=type(person), request=None, user=person)
    assert not FactoryManager.objects.filter(user=person).exists()


def test_only_those_working_with_the_factory_invite(
    world, other_brand_staff, brand_viewer, provider_staff, factory_manager
):
    for outsider in (other_brand_staff, brand_viewer):
        with pytest.raises(TrainingError):
            invite_factory_manager(factory=world.factory, email="x@example.org", actor=outsider)
    # The provider training the factory may.
    invite_factory_manager(factory=world.factory, email="x@example.org", actor=provider_staff)
    with pytest.raises(TrainingError, match="already answers"):
        invite_factory_manager(
            factory=world.factory, email=factory_manager.email, actor=provider_staff
        )


def test_factory_managers_page(world, brand_staff, other_brand_staff, brand_viewer):
    url = reverse("training:factory_managers", args=[world.factory.pk])
    detail = client_for(brand_staff).get(world.factory.get_absolute_url()).content.decode()
    assert url in detail
    assert (
        url not in client_for(brand_viewer).get(world.factory.get_absolute_url()).content.decode()
    )
    for outsider in (other_brand_staff, brand_viewer):
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(outsider).post(url, {"email": "x@example.org"}).status_code == 404
    client = client_for(brand_staff)
    bad = client.post(url, {"email": "nope"})
    assert bad.status_code == 400 and 'value="nope"' in bad.content.decode()
    assert client.post(url, {"email": "owner@mill.example.org"}).status_code == 302
    assert "owner@mill.example.org" in client.get(url).content.decode()


def test_a_trainer_finds_their_certifications_in_their_menu(trainer):
    home = client_for(trainer).get("/").content.decode()
    assert reverse("training:trainer_detail", args=[trainer.pk]) in home
