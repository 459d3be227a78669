"""API keys for the personas' organisations, and a client that sends one."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import OrganisationAPIKey
from api.services import create_key
from partners.models import Membership, Partner
from partners.services import add_member
from score_portal.models import User
from tests.factories import PartnerFactory, UserFactory
from training.models import Certificate


def admin_of(partner: Partner, email: str) -> User:
    user = UserFactory(email=email)
    add_member(partner=partner, user=user, role=Membership.Role.ADMIN)
    return user


def key_client(secret: str | None) -> APIClient:
    client = APIClient()
    if secret is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def brand_admin(brand) -> User:
    return admin_of(brand, "admin@brand-a.example.org")


@pytest.fixture
def other_brand_admin(other_brand) -> User:
    return admin_of(other_brand, "admin@brand-b.example.org")


@pytest.fixture
def provider_admin(provider) -> User:
    return admin_of(provider, "admin@provider.example.org")


def _key(partner: Partner, creator: User, access: str) -> tuple[OrganisationAPIKey, str]:
    return create_key(
        organisation=partner, name=f"{partner} {access}", access=access, actor=creator
    )


@pytest.fixture
def acting_key(brand, brand_admin):
    return _key(brand, brand_admin, OrganisationAPIKey.Access.ACTING)


@pytest.fixture
def read_only_key(brand, brand_admin):
    return _key(brand, brand_admin, OrganisationAPIKey.Access.READ_ONLY)


@pytest.fixture
def other_key(other_brand, other_brand_admin):
    return _key(other_brand, other_brand_admin, OrganisationAPIKey.Access.ACTING)


@pytest.fixture
def provider_key(provider, provider_admin):
    return _key(provider, provider_admin, OrganisationAPIKey.Access.READ_ONLY)


@pytest.fixture
def provider_acting_key(provider, provider_admin):
    """The cohort's provider's acting key: it places, and records what its trainers deliver."""
    return _key(provider, provider_admin, OrganisationAPIKey.Access.ACTING)


@pytest.fixture
def other_provider_key(db):
    """An acting key of a provider that delivers none of the world's cohorts."""
    other = PartnerFactory(name="Provider Q", kind=Partner.Kind.SERVICE_PROVIDER, country="FR")
    return _key(other, admin_of(other, "admin@provider-q.example.org"), "acting")


@pytest.fixture
def ilo_key(ilo):
    return _key(ilo, admin_of(ilo, "admin@ilo-api.example.org"), OrganisationAPIKey.Access.ACTING)


@pytest.fixture
def api(acting_key) -> APIClient:
    """Brand A's acting key."""
    return key_client(acting_key[1])


@pytest.fixture
def certificate(world, settings, tmp_path) -> Certificate:
    """An issued certificate of brand A's enrolment, with a (stand-in) PDF stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    certificate = Certificate.objects.create(
        enrolment=world.enrolment, status=Certificate.Status.ISSUED, issued_at=timezone.now()
    )
    certificate.pdf.save(f"{certificate.code}.pdf", ContentFile(b"%PDF-1.4 stand-in"))
    return certificate
