"""History of partnerships (budget, quota, status, countries, modules) and memberships."""

import datetime

import pytest
from django.urls import reverse

from partners.models import Membership, Partnership
from partners.selectors import membership_history, partnership_history
from partners.services import add_member, save_draft
from tests.conftest import client_for
from tests.factories import UserFactory
from training.models import Module

pytestmark = pytest.mark.django_db


def _newest(entries):
    return {c.label: (c.old, c.new) for c in entries[0].changes}, entries[0]


def test_a_draft_edit_records_budget_quota_and_countries(draft, brand, brand_staff, module_1):
    values = {"budget": 55_000, "factory_quota": 6, "countries": ["CN", "VN"]}
    save_draft(
        partner=brand, actor=brand_staff, values=values, modules=[module_1], partnership=draft
    )
    changes, entry = _newest(partnership_history(draft))
    assert entry.who == brand_staff
    assert changes["Budget"] == ("40,000.00", "55,000.00")
    assert changes["Factories to fund"] == ("4", "6")
    assert changes["Countries"] == ("China, Türkiye", "China, Vietnam")
    assert "Modules" not in changes  # unchanged


def test_modules_added_and_removed_are_recorded(draft, brand, brand_staff, module_1):
    module_2 = Module.objects.get(code="M2")
    save_draft(partner=brand, actor=brand_staff, values={}, modules=[module_1, module_2],
               partnership=draft)  # fmt: skip
    changes, entry = _newest(partnership_history(draft))
    assert entry.who == brand_staff
    old, new = changes["Modules"]
    assert str(module_1) == old
    assert str(module_1) in new and str(module_2) in new

    save_draft(partner=brand, actor=brand_staff, values={}, modules=[module_2],
               partnership=draft)  # fmt: skip
    changes, _entry = _newest(partnership_history(draft))
    assert changes["Modules"] == (new, str(module_2))


def test_status_moves_are_recorded_with_the_decider(approved, ilo_admin):
    changes, entry = _newest(partnership_history(approved))
    assert entry.who == ilo_admin
    assert changes["Status"] == ("Submitted", "Approved")


def test_creation_lists_the_first_values(draft, brand_staff):
    created = partnership_history(draft)[-1]
    assert created.action == "created"
    assert created.who == brand_staff
    values = {c.label: c.new for c in created.changes}
    assert values["Title"] == "Brand A SCORE programme 2027"
    assert values["Currency"] == "EUR"


def test_membership_granted_changed_and_left_names_who_did_it(brand, ilo_admin):
    person = UserFactory(email="new@brand-a.example.org", full_name="Nadia Demir")
    add_member(partner=brand, user=person, role=Membership.Role.VIEWER, actor=ilo_admin)
    add_member(partner=brand, user=person, role=Membership.Role.VIEWER, actor=ilo_admin)
    add_member(partner=brand, user=person, role=Membership.Role.STAFF, actor=ilo_admin)

    entries = [e for e in membership_history(brand) if e.subject == "Nadia Demir"]
    assert [e.action for e in entries] == ["changed", "created"]  # the repeat wrote nothing
    assert all(e.who == ilo_admin for e in entries)
    assert {c.label: (c.old, c.new) for c in entries[0].changes} == {"Role": ("Viewer", "Staff")}


# --- Pages ----------------------------------------------------------------------------------


READERS = ["brand_staff", "brand_viewer", "ilo_admin"]


@pytest.mark.parametrize("persona", READERS)
def test_partnership_page_shows_the_history(request, approved, persona):
    response = client_for(request.getfixturevalue(persona)).get(approved.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Record of changes" in page
    assert "<del>Submitted</del> → <ins>Approved</ins>" in page


@pytest.mark.parametrize("persona", ["other_brand_staff", "factory_manager", "trainer"])
def test_partnership_history_is_404_for_outsiders(request, world, approved, persona):
    response = client_for(request.getfixturevalue(persona)).get(approved.get_absolute_url())
    assert response.status_code == 404


def test_an_admin_edit_is_recorded_with_the_signed_in_admin(world, approved):
    superuser = UserFactory(email="root@ilo.example.org", is_staff=True, is_superuser=True)
    client = client_for(superuser)
    url = reverse("admin:partners_partnership_change", args=[approved.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data |= {
        "partner": approved.partner_id,
        "modules": [m.pk for m in approved.modules.all()],
        "countries": approved.countries,
        "start_date": approved.start_date.isoformat(),
        "end_date": approved.end_date.isoformat(),
        "factory_quota": 9,
    }
    data.pop("created_by", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    changes, entry = _newest(partnership_history(approved))
    assert entry.who == superuser
    assert changes["Factories to fund"] == ("4", "9")
    # The admin's own history page lists it too, and offers no revert.
    history = client.get(reverse("admin:partners_partnership_history", args=[approved.pk]))
    assert history.status_code == 200


def test_the_admins_partner_page_shows_the_members_history(brand, ilo_admin, brand_staff):
    superuser = UserFactory(email="root@ilo.example.org", is_staff=True, is_superuser=True)
    page = client_for(superuser).get(reverse("admin:partners_partner_change", args=[brand.pk]))
    text = page.content.decode()
    assert "Changes to the members" in text
    assert 'data-testid="change-history"' in text  # rendered, not escaped
    assert brand_staff.display_name in text


def test_a_membership_removed_in_the_admin_is_recorded(brand, brand_staff):
    superuser = UserFactory(email="root@ilo.example.org", is_staff=True, is_superuser=True)
    membership = Membership.objects.get(user=brand_staff, partner=brand)
    client = client_for(superuser)
    url = reverse("admin:partners_membership_delete", args=[membership.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    entry = next(e for e in membership_history(brand) if e.action == "deleted")
    assert entry.who == superuser
    assert entry.subject == brand_staff.display_name


def test_history_of_a_partnership_without_changes_yet(brand, brand_staff):
    today = datetime.date.today()
    partnership = Partnership.objects.create(
        partner=brand, kind="ppp", title="Quiet", start_date=today, end_date=today
    )
    page = client_for(brand_staff).get(partnership.get_absolute_url()).content.decode()
    assert "Quiet" in page
    assert 'data-testid="change-history"' in page


def test_rows_from_before_the_history_get_a_first_row(approved, brand_staff, module_1):
    """The migration's baseline: an upgrade's existing rows, then their first change."""
    from django.apps import apps

    from score_portal.history import begin_history

    Partnership.history.all().delete()
    Partnership.history.model.modules.model.objects.all().delete()
    begin_history("partners", {"Partnership": ["modules"]})(apps, None)

    (entry,) = partnership_history(approved)
    assert entry.action == "began"
    assert entry.who is None
    assert {c.label: c.new for c in entry.changes}["Modules"] == str(module_1)

    approved.budget = 41_000
    approved.save()
    changes, newest = _newest(partnership_history(approved))
    assert newest.action == "changed"
    assert changes == {"Budget": ("40,000.00", "41,000.00")}


def test_the_admin_shows_an_old_version_but_never_saves_it_back(approved):
    superuser = UserFactory(email="root@ilo.example.org", is_staff=True, is_superuser=True)
    client = client_for(superuser)
    first = Partnership.history.filter(id=approved.pk).earliest()
    url = reverse("admin:partners_partnership_simple_history", args=[approved.pk, first.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"title": "Reverted", "status": "draft"})
    assert response.status_code == 405
    approved.refresh_from_db()
    assert approved.status == "approved"
    for bad in ["²", "99999999999999999999", "x"]:
        bad_version = f"/admin/partners/partnership/{approved.pk}/history/{bad}/"
        assert client.get(bad_version).status_code == 404
        assert client.get(f"/admin/partners/partnership/{bad}/history/").status_code == 404
