"""A person's language and time zone are theirs: stored, applied at sign-in and on every
page, changed from the profile page or the switcher, and used for every email (allauth's
included), which names the portal and SITE_URL, never the request's host."""

import datetime
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from score_portal.models import OutboundEmail, User
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def english_browser() -> Client:
    return Client(headers={"accept-language": "en-GB,en;q=0.9"})


def test_stored_language_applies_at_sign_in_whatever_the_browser(brand_staff):
    User.objects.filter(pk=brand_staff.pk).update(language="es")
    client = english_browser()
    assert 'lang="en"' in client.get(reverse("account_login")).text
    response = client.post(
        reverse("account_login"), {"login": brand_staff.email, "password": PASSWORD}, follow=True
    )
    assert 'lang="es"' in response.text
    assert "Inicio" in response.text  # the menu's "Home"
    # and on every page after it
    assert 'lang="es"' in client.get(reverse("training:module_list")).text


def test_without_a_stored_language_the_browser_decides(brand_staff):
    assert brand_staff.language == ""
    client = client_for(brand_staff)
    response = client.get("/", headers={"accept-language": "tr"})
    assert 'lang="tr"' in response.text


def test_switcher_stores_a_signed_in_persons_choice(brand_staff):
    client = client_for(brand_staff)
    response = client.post(reverse("set_language"), {"language": "vi", "next": "/"})
    assert response.status_code == 302
    brand_staff.refresh_from_db()
    assert brand_staff.language == "vi"
    assert 'lang="vi"' in client.get("/").text


def test_switcher_refuses_an_unknown_language_and_stores_nothing(brand_staff):
    client = client_for(brand_staff)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    brand_staff.refresh_from_db()
    assert brand_staff.language == ""


def test_anonymous_switch_sets_the_cookie_only(db):
    client = english_browser()
    client.post(reverse("set_language"), {"language": "bn", "next": "/"})
    assert client.cookies["django_language"].value == "bn"
    assert 'lang="bn"' in client.get("/").text


def test_profile_saves_name_language_and_time_zone(brand_staff):
    client = client_for(brand_staff)
    page = client.get(reverse("profile"))
    assert page.status_code == 200
    assert reverse("account_email") in page.text
    assert reverse("account_change_password") in page.text
    assert reverse("mfa_index") in page.text
    response = client.post(
        reverse("profile"),
        {"full_name": "Ana Pérez", "language": "es", "time_zone": "Europe/Madrid"},
        follow=True,
    )
    brand_staff.refresh_from_db()
    assert (brand_staff.full_name, brand_staff.language, brand_staff.time_zone) == (
        "Ana Pérez",
        "es",
        "Europe/Madrid",
    )
    assert 'lang="es"' in response.text
    assert "Ana Pérez" in response.text


def test_profile_refuses_an_unknown_time_zone_beside_the_field_and_keeps_the_name(brand_staff):
    response = client_for(brand_staff).post(
        reverse("profile"),
        {"full_name": "Typed Name", "language": "en", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 200
    assert 'value="Typed Name"' in response.text
    assert 'id="id_time_zone_error"' in response.text
    brand_staff.refresh_from_db()
    assert brand_staff.full_name != "Typed Name"


def test_profile_needs_a_sign_in(db):
    response = client_for(None).get(reverse("profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_times_show_in_the_persons_time_zone(brand_staff, rf):
    from score_portal.accounts import PersonalSettingsMiddleware

    seen = {}

    def view(request):
        seen["zone"] = timezone.get_current_timezone_name()
        from django.http import HttpResponse

        return HttpResponse()

    User.objects.filter(pk=brand_staff.pk).update(time_zone="Asia/Dhaka")
    brand_staff.refresh_from_db()
    request = rf.get("/")
    request.user = brand_staff
    PersonalSettingsMiddleware(view)(request)
    assert seen["zone"] == "Asia/Dhaka"
    noon_utc = datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC)
    assert timezone.localtime(noon_utc, zoneinfo.ZoneInfo("Asia/Dhaka")).hour == 18
    # Back to the portal's zone for the next request of someone without one.
    request.user = UserFactory()
    PersonalSettingsMiddleware(view)(request)
    assert seen["zone"] == "UTC"


def test_allauth_email_in_the_recipients_language_naming_the_portal(settings, db):
    settings.SITE_URL = "https://score.example.org"
    user = UserFactory(email="ana@example.org", language="es")
    english_browser().post(reverse("account_reset_password"), {"email": user.email})
    email = OutboundEmail.objects.get(to=user.email)
    assert email.language == "es"
    assert "Portal SCORE" in email.body_text  # the portal, named in Spanish
    assert "https://score.example.org/accounts/password/reset/key/" in email.body_text
    assert "testserver" not in email.body_text
    assert email.body_text.startswith("Hola")
    assert "contraseña" in email.body_text.lower()


def test_allauth_email_to_an_unknown_address_follows_the_requester(settings, db):
    settings.SITE_URL = "https://score.example.org"
    Client(headers={"accept-language": "tr"}).post(
        reverse("account_reset_password"), {"email": "nobody@example.org"}
    )
    email = OutboundEmail.objects.get(to="nobody@example.org")
    assert email.language == "tr"
    assert "testserver" not in email.body_text
