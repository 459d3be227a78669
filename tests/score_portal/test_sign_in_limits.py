"""Failed sign-ins are limited per client address and per (account, address): someone guessing
elsewhere cannot keep the account's owner out, and a password reset still opens the door."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def _sign_in(client: Client, email: str, password: str) -> bool:
    client.post(reverse("account_login"), {"login": email, "password": password})
    return "_auth_user_id" in client.session


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere():
    user = UserFactory(email="owner@example.org")
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(5):
        assert not _sign_in(attacker, user.email, "guess")
    # The attacker's address has spent the account's budget: even the right password fails there.
    response = attacker.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert "Too many failed login attempts" in response.text
    assert "_auth_user_id" not in attacker.session
    # The owner, from their own address, signs in at once.
    assert _sign_in(Client(REMOTE_ADDR=OWNER), user.email, PASSWORD)


def test_one_address_is_limited_across_accounts():
    users = [UserFactory(email=f"user{i}@example.org") for i in range(11)]
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for user in users[:10]:  # 10 failures per minute per address, one per account
        assert not _sign_in(attacker, user.email, "guess")
    response = attacker.post(
        reverse("account_login"), {"login": users[10].email, "password": PASSWORD}
    )
    assert "Too many failed login attempts" in response.text
    assert "_auth_user_id" not in attacker.session
    assert _sign_in(Client(REMOTE_ADDR=OWNER), users[10].email, PASSWORD)


def test_a_password_reset_opens_the_account_from_the_locked_address(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(email="owner@example.org")
    client = Client(REMOTE_ADDR=OWNER)
    for _ in range(5):
        _sign_in(client, user.email, "forgotten")
    assert not _sign_in(client, user.email, PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"password1": "A new long passphrase 42", "password2": "A new long passphrase 42"},
    )
    client.logout()
    assert _sign_in(client, user.email, "A new long passphrase 42")
