import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.tenancy import status_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("brand_staff", 200),
        ("brand_viewer", 200),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        ("trainer", 404),
        (None, 302),
    ],
)
def test_partnership_detail_access(request, world, persona, expected):
    url = reverse("partners:partnership_detail", args=[world.partnership.pk])
    assert status_for(request, persona, url) == expected


def test_anonymous_is_sent_to_sign_in(world):
    url = reverse("partners:partnership_detail", args=[world.partnership.pk])
    response = client_for(None).get(url)
    assert response.url == f"{reverse('account_login')}?next={url}"


def test_partnership_list_shows_only_own_partnerships(world, brand_staff):
    response = client_for(brand_staff).get(reverse("partners:partnership_list"))
    assert response.status_code == 200
    assert "Brand A pilot" in response.text
    assert "Brand B programme" not in response.text


def test_ilo_sees_every_partnership(world, ilo_admin):
    response = client_for(ilo_admin).get(reverse("partners:partnership_list"))
    assert "Brand A pilot" in response.text
    assert "Brand B programme" in response.text


def test_partnership_detail_shows_ledger(world, brand_staff):
    response = client_for(brand_staff).get(world.partnership.get_absolute_url())
    # One active enrolment funded out of a quota of ten.
    assert "1 / 10" in response.text
    assert "Workplace Cooperation" in response.text


def test_unknown_partnership_is_404(world, ilo_admin):
    url = reverse("partners:partnership_detail", args=[999_999])
    assert client_for(ilo_admin).get(url).status_code == 404


# --- The application lifecycle through the views ------------------------------------------

import datetime  # noqa: E402

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402

from partners.models import Partnership  # noqa: E402
from score_portal.models import OutboundEmail  # noqa: E402


def _form_data(module_1, **overrides):
    today = datetime.date.today()
    data = {
        "partner": "",
        "kind": "ppp",
        "title": "Brand A factories 2027",
        "countries": ["CN", "TR"],
        "modules": [module_1.pk],
        "factory_quota": "5",
        "budget": "25000",
        "currency": "EUR",
        "brand_share_percent": "80",
        "start_date": today.isoformat(),
        "end_date": (today + datetime.timedelta(days=300)).isoformat(),
        "contact_name": "Ana Ruiz",
        "contact_email": "ana@brand-a.example.org",
    }
    data.update(overrides)
    return data


def test_brand_staff_saves_a_draft_then_submits(brand, brand_staff, ilo_admin, module_1):
    client = client_for(brand_staff)
    assert client.get(reverse("partners:partnership_apply")).status_code == 200
    response = client.post(
        reverse("partners:partnership_apply"),
        {**_form_data(module_1, partner=brand.pk), "action": "save"},
    )
    partnership = Partnership.objects.get()
    assert response.url == partnership.get_absolute_url()
    assert partnership.status == "draft"
    assert partnership.partner == brand
    assert list(partnership.modules.all()) == [module_1]

    edit_url = reverse("partners:partnership_edit", args=[partnership.pk])
    response = client.post(edit_url, {**_form_data(module_1, title="Renamed"), "action": "submit"})
    partnership.refresh_from_db()
    assert (partnership.title, partnership.status) == ("Renamed", "submitted")
    assert OutboundEmail.objects.filter(to=ilo_admin.email).count() == 1
    # Locked now: the edit page sends the applicant back with a message.
    response = client.get(edit_url, follow=True)
    assert "can no longer be edited" in response.text


def test_submitting_an_incomplete_application_keeps_the_draft(brand, brand_staff, module_1):
    client = client_for(brand_staff)
    response = client.post(
        reverse("partners:partnership_apply"),
        {**_form_data(module_1, partner=brand.pk, countries=[], modules=[]), "action": "submit"},
        follow=True,
    )
    partnership = Partnership.objects.get()
    assert partnership.status == "draft"
    assert "Before submitting, add at least one country, at least one module" in response.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"budget": "-5"}, "budget", "greater than or equal to 0"),
        ({"brand_share_percent": "140"}, "brand_share_percent", "less than or equal to 100"),
        ({"end_date": "2020-01-01"}, "end_date", "cannot be before the start date"),
        ({"start_date": "31/31/2026"}, "start_date", "Enter a valid date"),
        ({"countries": ["XX"]}, "countries", "Select a valid choice"),
        ({"factory_quota": "many"}, "factory_quota", "Enter a whole number"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_saved(
    brand, brand_staff, module_1, overrides, field, message
):
    response = client_for(brand_staff).post(
        reverse("partners:partnership_apply"),
        {**_form_data(module_1, partner=brand.pk, **overrides), "action": "save"},
    )
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert not Partnership.objects.exists()


def test_supporting_document_must_be_a_small_pdf(brand, brand_staff, module_1, settings):
    settings.PARTNERSHIP_DOCUMENT_MAX_BYTES = 100
    client = client_for(brand_staff)
    url = reverse("partners:partnership_apply")
    fake = SimpleUploadedFile("budget.pdf", b"PK\x03\x04 not a pdf", "application/pdf")
    response = client.post(
        url, {**_form_data(module_1, partner=brand.pk), "supporting_document": fake}
    )
    assert "must be a PDF file" in response.text
    big = SimpleUploadedFile("budget.pdf", b"%PDF-1.4" + b"0" * 200, "application/pdf")
    response = client.post(
        url, {**_form_data(module_1, partner=brand.pk), "supporting_document": big}
    )
    assert "the limit is 100" in response.text
    assert not Partnership.objects.exists()
    good = SimpleUploadedFile("budget.pdf", b"%PDF-1.4 tiny", "application/pdf")
    client.post(url, {**_form_data(module_1, partner=brand.pk), "supporting_document": good})
    partnership = Partnership.objects.get()
    download = client.get(reverse("partners:partnership_document", args=[partnership.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 tiny"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("other_brand_staff", 404), ("factory_manager", 404), ("brand_viewer", 403), (None, 302)],
)
def test_edit_is_for_the_applicants_acting_people(request, draft_for_views, persona, expected):
    url = reverse("partners:partnership_edit", args=[draft_for_views.pk])
    assert status_for(request, persona, url) == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("other_brand_staff", 404), ("trainer", 404), ("brand_staff", 404), (None, 302)],
)
def test_document_download_is_scoped(request, draft_for_views, persona, expected):
    # brand_staff owns the partnership, but it has no document: also 404.
    url = reverse("partners:partnership_document", args=[draft_for_views.pk])
    assert status_for(request, persona, url) == expected


def test_viewer_and_factory_manager_cannot_apply(brand_viewer, factory_manager):
    for person in (brand_viewer, factory_manager):
        assert client_for(person).get(reverse("partners:partnership_apply")).status_code == 403


def test_ilo_approves_with_a_note_through_the_page(submitted_for_views, ilo_admin, brand_staff):
    client = client_for(ilo_admin)
    url = reverse("partners:partnership_transition", args=[submitted_for_views.pk])
    response = client.post(url, {"to_status": "approved", "note": ""}, follow=True)
    assert "Please write a note" in response.text
    submitted_for_views.refresh_from_db()
    assert submitted_for_views.status == "submitted"
    client.post(url, {"to_status": "approved", "note": "Good plan."})
    submitted_for_views.refresh_from_db()
    assert submitted_for_views.status == "approved"
    page = client_for(brand_staff).get(submitted_for_views.get_absolute_url()).text
    assert "Good plan." in page
    assert "Submitted → Approved" in page


def test_outsiders_cannot_decide(submitted_for_views, other_brand_staff, brand_staff):
    url = reverse("partners:partnership_transition", args=[submitted_for_views.pk])
    assert (
        client_for(other_brand_staff).post(url, {"to_status": "approved", "note": "x"}).status_code
        == 404
    )
    response = client_for(brand_staff).post(
        url, {"to_status": "approved", "note": "self-approval"}, follow=True
    )
    assert "Only ILO administrators decide" in response.text
    submitted_for_views.refresh_from_db()
    assert submitted_for_views.status == "submitted"


def test_garbage_transition_is_a_message_not_an_error(submitted_for_views, ilo_admin):
    url = reverse("partners:partnership_transition", args=[submitted_for_views.pk])
    response = client_for(ilo_admin).post(url, {"to_status": "<script>"}, follow=True)
    assert response.status_code == 200
    assert "That action is not available" in response.text


def test_review_queue_filters(world, ilo_admin, submitted_for_views):
    client = client_for(ilo_admin)
    url = reverse("partners:partnership_list")
    queue = client.get(url, {"status": "submitted"}).text
    assert submitted_for_views.title in queue
    assert "Brand A pilot" not in queue
    by_country = client.get(url, {"country": "TR"}).context["page"].object_list
    assert submitted_for_views in by_country
    assert list(client.get(url, {"kind": "licence"}).context["page"].object_list) == []
    assert client.get(url, {"status": "nonsense"}).status_code == 200


# --- Who sees which box; a decision reads as a sentence (issue 17, point 9) ---------------


def test_the_applicant_sees_no_decide_box_on_their_own_application(
    brand, brand_staff, ilo_admin, module_1
):
    from partners.services import save_draft, transition

    draft = save_draft(
        partner=brand,
        actor=brand_staff,
        values={
            **{k: v for k, v in _form_data(module_1).items() if k not in ("partner", "modules")},
            "factory_quota": 5,
            "start_date": datetime.date.today(),
            "end_date": datetime.date.today() + datetime.timedelta(days=300),
        },
        modules=[module_1],
    )
    page = client_for(brand_staff).get(draft.get_absolute_url()).text
    assert "Decide" not in page and "Your application" in page
    assert 'value="submitted"' in page
    transition(partnership=draft, actor=brand_staff, to_status="submitted")
    page = client_for(brand_staff).get(draft.get_absolute_url()).text
    assert "Decide" not in page and 'value="approved"' not in page
    page = client_for(ilo_admin).get(draft.get_absolute_url()).text
    assert "Decide" in page and 'value="approved"' in page


def test_a_decision_reads_as_a_sentence(brand, brand_staff, ilo_admin, module_1, world):
    partnership = world.partnership
    Partnership.objects.filter(pk=partnership.pk).update(status="submitted")
    response = client_for(ilo_admin).post(
        reverse("partners:partnership_transition", args=[partnership.pk]),
        {"to_status": "changes_requested", "note": "Add the budget plan."},
        follow=True,
    )
    assert "The ILO asked for changes to the application “Brand A pilot”." in response.text
    assert "is now changes requested" not in response.text
