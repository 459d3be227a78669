"""Keys: created by the organisation's admins only, shown once, stored hashed, revocable;
requests with them authenticate (or not)."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from api.models import OrganisationAPIKey
from api.services import APIKeyError, create_key, revoke_key
from tests.api.conftest import key_client
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_secret_is_stored_only_hashed(brand, brand_admin):
    key, secret = create_key(
        organisation=brand, name="ERP", access=OrganisationAPIKey.Access.ACTING, actor=brand_admin
    )
    stored = OrganisationAPIKey.objects.get(pk=key.pk)
    assert secret.startswith(stored.prefix + ".")
    assert secret not in stored.hashed_key and secret not in stored.pk
    assert stored.hashed_key == "sha512$$" + hashlib.sha512(secret.encode()).hexdigest()
    assert stored.created_by == brand_admin and stored.organisation == brand


def test_only_the_organisations_admins_create_keys(brand, brand_staff, other_brand_admin):
    for person in (brand_staff, other_brand_admin):
        with pytest.raises(APIKeyError):
            create_key(organisation=brand, name="x", access="acting", actor=person)


def test_keys_page_only_for_its_admins(
    brand, brand_admin, brand_staff, other_brand_admin, ilo_admin
):
    url = reverse("api_keys:list", args=[brand.pk])
    assert client_for(brand_admin).get(url).status_code == 200
    # Staff, another brand's admin and the ILO (which manages the brand's people) get 404.
    for person in (brand_staff, other_brand_admin, ilo_admin):
        assert client_for(person).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302  # to sign in


def test_the_people_page_links_to_the_keys_page(brand, brand_admin, ilo_admin):
    people = reverse("partners:organisation_people", args=[brand.pk])
    keys = reverse("api_keys:list", args=[brand.pk])
    assert keys in client_for(brand_admin).get(people).content.decode()
    assert keys not in client_for(ilo_admin).get(people).content.decode()


def test_page_shows_the_secret_once(brand, brand_admin):
    client = client_for(brand_admin)
    url = reverse("api_keys:list", args=[brand.pk])
    created = client.post(url, {"name": "Sourcing sync", "access": "read_only"})
    assert created.status_code == 302 and created["Location"] == url
    response = client.get(url)
    secret = response.context["secret"]
    assert secret and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    again = client.get(url).content.decode()
    assert "Sourcing sync" in again and secret not in again


def test_page_keeps_what_was_typed_on_an_error(brand, brand_admin):
    response = client_for(brand_admin).post(
        reverse("api_keys:list", args=[brand.pk]), {"name": "Half typed", "access": "root"}
    )
    assert response.status_code == 400
    assert 'value="Half typed"' in response.content.decode()
    assert not OrganisationAPIKey.objects.exists()


def test_revoke_from_the_page(brand, brand_admin, acting_key, other_brand_admin):
    key, secret = acting_key
    url = reverse("api_keys:revoke", args=[brand.pk, key.prefix])
    assert client_for(other_brand_admin).post(url).status_code == 404
    assert key_client(secret).get("/api/v1/suppliers/").status_code == 200
    response = client_for(brand_admin).post(url)
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked and key.revoked_at and key.revoked_by == brand_admin
    assert key_client(secret).get("/api/v1/suppliers/").status_code == 401


def test_no_key_or_a_wrong_one_is_401(world, acting_key):
    _key, secret = acting_key
    for client in (
        key_client(None),
        key_client("nonsense"),
        key_client(secret[:-1] + ("A" if secret[-1] != "A" else "B")),
    ):
        response = client.get("/api/v1/enrolments/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Api-Key"
        assert response.json()["errors"][0]["code"] in (
            "not_authenticated",
            "authentication_failed",
        )


def test_bearer_works_too(world, acting_key):
    client = key_client(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {acting_key[1]}")
    assert client.get("/api/v1/enrolments/").status_code == 200


def test_revoked_key_is_refused(world, acting_key, brand_admin):
    key, secret = acting_key
    revoke_key(key=key, actor=brand_admin)
    assert key_client(secret).get("/api/v1/enrolments/").status_code == 401


def test_a_closed_creator_account_stops_the_key(world, acting_key, brand_admin):
    brand_admin.is_active = False
    brand_admin.save()
    assert key_client(acting_key[1]).get("/api/v1/enrolments/").status_code == 401


def test_last_use_is_recorded(world, acting_key):
    key, secret = acting_key
    assert key.last_used_at is None
    key_client(secret).get("/api/v1/enrolments/")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_read_only_key_cannot_write(world, read_only_key, module_1):
    client = key_client(read_only_key[1])
    assert client.get("/api/v1/enrolments/").status_code == 200
    create = client.post(
        "/api/v1/enrolments/",
        {"factory": world.factory.pk, "module": module_1.pk, "partnership": world.partnership.pk},
    )
    assert create.status_code == 403
    assert create.json()["errors"][0]["message"] == "This API key is read-only."
    withdraw = client.post(f"/api/v1/enrolments/{world.enrolment.pk}/withdraw/", {"reason": "x"})
    assert withdraw.status_code == 403
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "pending"


def test_a_key_acts_with_its_organisation_only(world, brand, other_brand, brand_admin):
    """The creator belongs to brand B too: brand A's key still sees brand A alone."""
    from partners.services import add_member

    add_member(partner=other_brand, user=brand_admin, role="admin")
    _key, secret = create_key(
        organisation=brand, name="A only", access="read_only", actor=brand_admin
    )
    ids = {e["id"] for e in key_client(secret).get("/api/v1/enrolments/").json()["results"]}
    assert ids == {world.enrolment.pk}
