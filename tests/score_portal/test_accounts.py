import re
import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core import mail
from django.urls import reverse

from score_portal.models import OutboundEmail, User
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_user_signs_in_with_email_and_lands_home(brand_staff):
    client = client_for(None)
    response = client.post(
        reverse("account_login"), {"login": "STAFF@brand-a.example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get("/").templates[0].name == "home/brand.html"


def test_wrong_password_is_refused_with_a_message(brand_staff):
    response = client_for(None).post(
        reverse("account_login"), {"login": brand_staff.email, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "not correct" in response.text


def test_failed_sign_ins_are_rate_limited(db):
    user = UserFactory(email="target@example.org")
    client = client_for(None)
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "guess"})
    # Even the right password is refused once the account's failure budget is spent.
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.text


def test_admin_login_goes_through_allauth(db):
    # The admin's own login form is never shown: allauth's rate-limited sign-in is.
    response = client_for(None).get("/admin/", follow=True)
    assert response.request["PATH_INFO"] == reverse("account_login")
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_admin_is_closed_to_non_staff(brand_staff):
    assert client_for(brand_staff).get("/admin/", follow=True).status_code == 403


def test_ilo_admin_uses_the_admin_without_being_superuser(ilo_admin):
    client = client_for(ilo_admin)
    assert not ilo_admin.is_superuser
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/training/module/").status_code == 200
    assert client.get("/admin/score_portal/outboundemail/").status_code == 200
    # People's accounts stay with the platform's superusers.
    assert client.get("/admin/score_portal/user/").status_code == 403


def test_signup_requires_email_verification_through_the_outbox(
    db, django_capture_on_commit_callbacks
):
    client = client_for(None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "new.person@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    assert User.objects.filter(email="new.person@example.org").exists()
    queued = OutboundEmail.objects.get(to="new.person@example.org")
    assert queued.status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1
    # The link is on SITE_URL, never on the host the request came in on.
    site = re.escape(settings.SITE_URL)
    link = re.search(site + r"(/accounts/confirm-email/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    response = client.post(link.group(1))
    assert response.status_code == 302
    assert client.get("/").templates[0].name == "home/none.html"


def test_password_reset_email_goes_through_the_outbox(
    brand_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(None).post(
            reverse("account_reset_password"), {"email": brand_staff.email}
        )
    assert response.status_code == 302
    email = OutboundEmail.objects.get(to=brand_staff.email)
    assert email.status == OutboundEmail.Status.SENT
    assert "Password Reset" in email.subject
    assert mail.outbox[0].to == [brand_staff.email]


def _sign_in(client, email: str) -> None:
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302


def _current_code(secret: str, offset_seconds: int = 0) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, (int(time.time()) + offset_seconds) // 30))


def test_every_user_can_set_up_totp_and_is_then_asked_for_it(brand_staff):
    client = client_for(None)
    _sign_in(client, brand_staff.email)
    # Adding a second factor asks for the password again first.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = client.post(response.url, {"password": PASSWORD})
    assert response.url == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert "data:image/svg+xml" in page.text  # the QR code, allowed by the CSP's img-src
    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": _current_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=brand_staff, type=Authenticator.Type.TOTP).exists()

    # Next sign-in: the password alone does not let them in.
    later = client_for(None)
    with time_machine.travel(time.time() + 60, tick=True):
        response = later.post(
            reverse("account_login"), {"login": brand_staff.email, "password": PASSWORD}
        )
        assert response.url == reverse("mfa_authenticate")
        assert later.get("/").templates[0].name == "home/landing.html"
        response = later.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
        assert response.status_code == 302
        assert later.get("/").templates[0].name == "home/brand.html"
