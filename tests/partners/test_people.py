"""An organisation's people: invitations, roles, the last administrator, the ILO's onboarding."""

from __future__ import annotations

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from partners.models import Invitation, Membership, Partner
from partners.services import (
    PartnerError,
    accept_invitation,
    add_member,
    change_role,
    create_partner,
    invite,
    remove_member,
    resend_invitation,
    revoke_invitation,
)
from score_portal.models import OutboundEmail
from tests.conftest import client_for
from tests.factories import PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand_admin(brand):
    user = UserFactory(email="admin@brand-a.example.org")
    add_member(partner=brand, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def other_brand_admin(other_brand):
    user = UserFactory(email="admin@brand-b.example.org")
    add_member(partner=other_brand, user=user, role=Membership.Role.ADMIN)
    return user


def _token_of(email: OutboundEmail) -> str:
    match = re.search(r"/partners/invitations/([\w-]+)/", email.body_text)
    assert match, email.body_text
    return match.group(1)


def _last_token(address: str) -> str:
    return _token_of(OutboundEmail.objects.filter(to=address).latest("pk"))


# --- Services -----------------------------------------------------------------------------


def test_invitation_is_emailed_and_accepted_with_the_verified_address(brand, brand_admin):
    invitation = invite(
        partner=brand, email=" New.Person@Brand-A.example.org ", role="viewer", actor=brand_admin
    )
    assert invitation.email == "new.person@brand-a.example.org"
    assert invitation.expires_at > timezone.now() + datetime.timedelta(days=13)
    email = OutboundEmail.objects.get(to=invitation.email)
    assert "Brand A" in email.subject
    token = _token_of(email)
    assert token not in invitation.token_hash  # only the hash is stored

    person = UserFactory(email="new.person@brand-a.example.org")
    membership = accept_invitation(token=token, user=person)
    assert (membership.partner, membership.role) == (brand, "viewer")
    invitation.refresh_from_db()
    assert invitation.accepted_by == person and invitation.accepted_at is not None
    # History names who joined.
    assert Membership.history.filter(user=person).latest("history_date").history_user == person


def test_an_accepted_link_cannot_be_used_again(brand, brand_admin):
    invite(partner=brand, email="p@example.org", role="staff", actor=brand_admin)
    token = _last_token("p@example.org")
    person = UserFactory(email="p@example.org")
    accept_invitation(token=token, user=person)
    with pytest.raises(PartnerError, match="already been used"):
        accept_invitation(token=token, user=person)


def test_an_expired_link_is_refused(brand, brand_admin):
    invitation = invite(partner=brand, email="p@example.org", role="staff", actor=brand_admin)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(PartnerError, match="expired"):
        accept_invitation(
            token=_last_token("p@example.org"), user=UserFactory(email="p@example.org")
        )
    assert not Membership.objects.filter(user__email="p@example.org").exists()


def test_another_address_or_an_unverified_one_is_refused(brand, brand_admin):
    invite(partner=brand, email="p@example.org", role="admin", actor=brand_admin)
    token = _last_token("p@example.org")
    someone_else = UserFactory(email="someone@example.org")
    with pytest.raises(PartnerError, match=r"sent to p@example\.org"):
        accept_invitation(token=token, user=someone_else)
    # The address added to their account but not verified does not count either.
    EmailAddress.objects.create(user=someone_else, email="p@example.org", verified=False)
    with pytest.raises(PartnerError, match=r"sent to p@example\.org"):
        accept_invitation(token=token, user=someone_else)
    assert not Membership.objects.filter(partner=brand, user=someone_else).exists()


def test_resending_draws_a_new_link_and_revoking_closes_it(brand, brand_admin):
    invite(partner=brand, email="p@example.org", role="staff", actor=brand_admin)
    first = _last_token("p@example.org")
    invitation = Invitation.objects.get(email="p@example.org")
    resend_invitation(invitation=invitation, actor=brand_admin)
    second = _last_token("p@example.org")
    assert first != second
    person = UserFactory(email="p@example.org")
    with pytest.raises(PartnerError, match="not valid"):
        accept_invitation(token=first, user=person)
    revoke_invitation(invitation=invitation, actor=brand_admin)
    with pytest.raises(PartnerError, match="not valid"):
        accept_invitation(token=second, user=person)


def test_inviting_the_same_address_again_updates_the_open_invitation(brand, brand_admin):
    invite(partner=brand, email="p@example.org", role="staff", actor=brand_admin)
    invite(partner=brand, email="P@example.org", role="viewer", actor=brand_admin)
    assert Invitation.objects.pending().get(email="p@example.org").role == "viewer"


def test_a_member_is_not_invited_again(brand, brand_admin, brand_staff):
    with pytest.raises(PartnerError, match="already a member"):
        invite(partner=brand, email=brand_staff.email, role="viewer", actor=brand_admin)


def test_trainers_belong_to_service_providers_only(brand, brand_admin, provider):
    with pytest.raises(PartnerError, match="not a service provider"):
        invite(partner=brand, email="t@example.org", role="trainer", actor=brand_admin)
    provider_admin = UserFactory()
    add_member(partner=provider, user=provider_admin, role="admin")
    invite(partner=provider, email="t@example.org", role="trainer", actor=provider_admin)


def test_only_the_organisations_admins_manage_its_people(
    brand, brand_admin, brand_staff, other_brand_admin
):
    for outsider in (brand_staff, other_brand_admin):
        with pytest.raises(PartnerError, match="administrators"):
            invite(partner=brand, email="p@example.org", role="staff", actor=outsider)
        membership = Membership.objects.get(user=brand_admin)
        with pytest.raises(PartnerError, match="administrators"):
            remove_member(membership=membership, actor=outsider)


def test_the_last_admin_can_be_neither_demoted_nor_removed(brand, brand_admin, brand_staff):
    own = Membership.objects.get(user=brand_admin, partner=brand)
    with pytest.raises(PartnerError, match="at least one administrator"):
        change_role(membership=own, role="staff", actor=brand_admin)
    with pytest.raises(PartnerError, match="at least one administrator"):
        remove_member(membership=own, actor=brand_admin)
    own.refresh_from_db()
    assert own.role == "admin"
    # With a second administrator, the first may step down.
    staff = Membership.objects.get(user=brand_staff, partner=brand)
    change_role(membership=staff, role="admin", actor=brand_admin)
    change_role(membership=own, role="viewer", actor=brand_admin)
    own.refresh_from_db()
    assert own.role == "viewer"
    # ... and the new last admin is held in turn.
    staff.refresh_from_db()
    with pytest.raises(PartnerError, match="at least one administrator"):
        remove_member(membership=staff, actor=brand_staff)


def test_removing_a_member_keeps_their_account_and_writes_history(brand, brand_admin, brand_staff):
    membership = Membership.objects.get(user=brand_staff, partner=brand)
    remove_member(membership=membership, actor=brand_admin)
    brand_staff.refresh_from_db()
    assert not Membership.objects.filter(user=brand_staff).exists()
    deleted = Membership.history.filter(user_id=brand_staff.pk, history_type="-").get()
    assert deleted.history_user == brand_admin


def test_the_email_follows_the_invitees_language_else_the_inviters(brand, brand_admin):
    brand_admin.language = "es"
    brand_admin.save()
    invite(partner=brand, email="new@example.org", role="staff", actor=brand_admin)
    assert OutboundEmail.objects.get(to="new@example.org").language == "es"
    UserFactory(email="known@example.org", language="tr")
    invite(partner=brand, email="known@example.org", role="staff", actor=brand_admin)
    assert OutboundEmail.objects.get(to="known@example.org").language == "tr"


def test_the_ilo_creates_an_organisation_and_invites_its_first_admin(ilo_admin, brand_staff):
    partner, invitation = create_partner(
        name="Brand New",
        kind=Partner.Kind.SERVICE_PROVIDER,
        actor=ilo_admin,
        admin_email="a@new.org",
    )
    assert (invitation.partner, invitation.role) == (partner, "admin")
    person = UserFactory(email="a@new.org")
    accept_invitation(token=_last_token("a@new.org"), user=person)
    assert Membership.objects.get(user=person).role == "admin"
    with pytest.raises(PartnerError, match="already exists"):
        create_partner(name="brand new", kind="brand", actor=ilo_admin, admin_email="b@new.org")
    with pytest.raises(PartnerError, match="Only ILO"):
        create_partner(name="Mine", kind="brand", actor=brand_staff, admin_email="b@new.org")
    with pytest.raises(PartnerError):
        create_partner(name="Second ILO", kind="ilo", actor=ilo_admin, admin_email="b@new.org")


def test_the_ilo_admin_group_follows_the_ilo_role(ilo, ilo_admin):
    second = UserFactory()
    membership = add_member(partner=ilo, user=second, role="staff")
    second.refresh_from_db()
    assert second.is_staff
    remove_member(membership=membership, actor=ilo_admin)
    second.refresh_from_db()
    assert not second.is_staff and not second.groups.exists()


# --- Views --------------------------------------------------------------------------------


def _people(partner: Partner) -> str:
    return reverse("partners:organisation_people", args=[partner.pk])


def test_people_page_lists_members_and_invitations(brand, brand_admin, brand_staff):
    invite(partner=brand, email="pending@example.org", role="viewer", actor=brand_admin)
    response = client_for(brand_admin).get(_people(brand))
    assert response.status_code == 200
    body = response.content.decode()
    assert brand_staff.email in body and "pending@example.org" in body
    assert "Trainer" not in body  # not a provider: no trainer role offered


@pytest.mark.parametrize(
    "persona", ["brand_staff", "brand_viewer", "other_brand_admin", "factory_manager", "trainer"]
)
def test_non_admins_and_outsiders_get_404_on_every_people_url(request, brand, brand_admin, persona):
    invitation = invite(partner=brand, email="p@example.org", role="staff", actor=brand_admin)
    membership = Membership.objects.get(user=brand_admin)
    client = client_for(request.getfixturevalue(persona))
    pk = brand.pk
    assert client.get(_people(brand)).status_code == 404
    for name, args in [
        ("partners:people_invite", [pk]),
        ("partners:member_role", [pk, membership.pk]),
        ("partners:member_remove", [pk, membership.pk]),
        ("partners:invitation_resend", [pk, invitation.pk]),
        ("partners:invitation_revoke", [pk, invitation.pk]),
    ]:
        response = client.post(
            reverse(name, args=args), {"email": "x@example.org", "role": "admin"}
        )
        assert response.status_code == 404, name
    assert client.get(reverse("partners:organisation_create")).status_code == 404
    assert Membership.objects.get(pk=membership.pk).role == "admin"


def test_another_organisations_member_is_404_on_ones_own_page(
    brand, brand_admin, other_brand, other_brand_admin
):
    theirs = Membership.objects.get(user=other_brand_admin)
    url = reverse("partners:member_remove", args=[brand.pk, theirs.pk])
    assert client_for(brand_admin).post(url).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_admin_invites_changes_a_role_and_removes(brand, brand_admin, brand_staff):
    client = client_for(brand_admin)
    response = client.post(
        reverse("partners:people_invite", args=[brand.pk]),
        {"email": "colleague@example.org", "role": "viewer"},
    )
    assert response.status_code == 302
    assert OutboundEmail.objects.filter(to="colleague@example.org").exists()
    staff = Membership.objects.get(user=brand_staff)
    response = client.post(
        reverse("partners:member_role", args=[brand.pk, staff.pk]), {"role": "viewer"}, follow=True
    )
    assert "is now Viewer" in response.content.decode()
    staff.refresh_from_db()
    assert staff.role == "viewer"
    client.post(reverse("partners:member_remove", args=[brand.pk, staff.pk]))
    assert not Membership.objects.filter(pk=staff.pk).exists()


def test_a_bad_invitation_form_keeps_what_was_typed_beside_the_field(brand, brand_admin):
    response = client_for(brand_admin).post(
        reverse("partners:people_invite", args=[brand.pk]),
        {"email": "not-an-address", "role": "trainer"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="not-an-address"' in body
    assert "id_email_error" in body and "id_role_error" in body


def test_demoting_oneself_as_last_admin_shows_the_rule(brand, brand_admin):
    own = Membership.objects.get(user=brand_admin)
    response = client_for(brand_admin).post(
        reverse("partners:member_role", args=[brand.pk, own.pk]), {"role": "viewer"}, follow=True
    )
    assert "at least one administrator" in response.content.decode()
    own.refresh_from_db()
    assert own.role == "admin"


def test_accepting_in_the_browser_session(brand, brand_admin):
    invite(partner=brand, email="p@example.org", role="staff", actor=brand_admin)
    url = reverse("partners:invitation_accept", args=[_last_token("p@example.org")])
    # A visitor signs in (or up) first and comes back.
    response = client_for(None).get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert "next=" in response.url
    # Signed in with another address: a clear message, nothing joined.
    other = UserFactory(email="other@example.org")
    response = client_for(other).post(url)
    assert response.status_code == 403
    assert "sent to p@example.org" in response.content.decode()
    person = UserFactory(email="p@example.org")
    client = client_for(person)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert Membership.objects.get(user=person).role == "staff"
    assert client.get(url).status_code == 410  # used


def test_an_unknown_link_is_404(brand_admin):
    url = reverse("partners:invitation_accept", args=["nothing-like-it"])
    assert client_for(brand_admin).get(url).status_code == 404


def test_the_ilo_creates_an_organisation_in_the_portal(ilo_admin):
    client = client_for(ilo_admin)
    response = client.post(
        reverse("partners:organisation_create"),
        {"name": "Nova Brand", "kind": "brand", "admin_email": "boss@nova.example.org"},
    )
    partner = Partner.objects.get(name="Nova Brand")
    assert response.status_code == 302 and response.url == _people(partner)
    assert Invitation.objects.get(partner=partner).email == "boss@nova.example.org"
    listing = client.get(reverse("partners:organisation_list"))
    assert "Nova Brand" in listing.content.decode()


def test_an_admins_menu_leads_to_their_people(brand, brand_admin, brand_staff):
    response = client_for(brand_admin).get(reverse("partners:organisation_list"))
    assert response.status_code == 302 and response.url == _people(brand)
    assert (
        reverse("partners:organisation_list") in client_for(brand_admin).get("/").content.decode()
    )
    assert client_for(brand_staff).get(reverse("partners:organisation_list")).status_code == 404


def test_people_page_costs_the_same_queries_whatever_its_length(
    brand, brand_admin, django_assert_max_num_queries
):
    client = client_for(brand_admin)
    client.get(_people(brand))
    for n in range(5):
        add_member(partner=brand, user=UserFactory(), role="staff")
        invite(partner=brand, email=f"p{n}@example.org", role="viewer", actor=brand_admin)
    other = PartnerFactory(name="Unrelated")
    assert other.pk
    with django_assert_max_num_queries(25):
        assert client.get(_people(brand)).status_code == 200


def test_a_member_hears_of_a_role_change_and_a_removal_in_their_language(
    brand, brand_admin, brand_staff
):
    from score_portal.models import Notice

    brand_staff.language = "es"
    brand_staff.save(update_fields=["language"])
    staff = Membership.objects.get(user=brand_staff)
    change_role(membership=staff, role="viewer", actor=brand_admin)
    changed = OutboundEmail.objects.filter(to=brand_staff.email).latest("pk")
    assert changed.language == "es"
    assert brand.name in changed.subject and "rol" in changed.subject.lower()
    assert "Lector" in changed.body_text or "viewer" not in changed.body_text.lower()
    assert brand_admin.display_name in changed.body_text
    remove_member(membership=Membership.objects.get(pk=staff.pk), actor=brand_admin)
    removed = OutboundEmail.objects.filter(to=brand_staff.email).latest("pk")
    assert removed.pk != changed.pk and brand.name in removed.subject
    # Both in the inbox too; an unchanged role, or one's own change, sends nothing.
    assert Notice.objects.filter(recipient=brand_staff).count() == 2
    before = OutboundEmail.objects.count()
    admin = Membership.objects.get(user=brand_admin)
    change_role(membership=admin, role="admin", actor=brand_admin)
    assert OutboundEmail.objects.count() == before
