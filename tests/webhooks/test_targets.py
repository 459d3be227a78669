"""Webhook targets cannot reach the portal's own network: refused when subscribing (on the
form) and again at delivery, after resolving the name (DNS rebinding)."""

from __future__ import annotations

import re
import socket

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.webhooks.conftest import subscribe
from webhooks import services, targets
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

PRIVATE_URLS = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://10.0.0.5/hook",
    "https://172.16.4.4/hook",
    "https://192.168.1.10/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::5]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://localhost/hook",
]


@pytest.fixture
def dns(monkeypatch):
    """Names resolve to what the test says (no network here)."""
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (table[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_private_address_is_refused_when_subscribing(url, brand, brand_admin):
    with pytest.raises(services.WebhookError) as refused:
        subscribe(brand, brand_admin, url)
    assert refused.value.field == "url"
    assert "private network" in str(refused.value)
    assert not Subscription.objects.exists()


def test_a_name_resolving_to_loopback_is_refused(brand, brand_admin, dns):
    dns["hooks.evil.example"] = "127.0.0.1"
    with pytest.raises(services.WebhookError, match=r"resolves to 127\.0\.0\.1"):
        subscribe(brand, brand_admin, "https://hooks.evil.example/in")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/in", "must start with https://"),
        ("ftp://hooks.example.com/in", "must start with https://"),
        ("https://user:pw@hooks.example.com/in", "user name or password"),
        ("https:///in", "no host name"),
        ("https://hooks.example.com:99999/in", "not a valid URL"),
        ("https://nowhere.invalid/in", "could not be resolved"),
    ],
)
def test_other_urls_refused(url, message, brand, brand_admin, dns):
    dns["hooks.example.com"] = "93.184.216.34"
    with pytest.raises(services.WebhookError, match=message):
        subscribe(brand, brand_admin, url)


def test_a_public_https_url_is_accepted(brand, brand_admin, dns):
    dns["hooks.example.com"] = "93.184.216.34"
    subscription = subscribe(brand, brand_admin, "https://hooks.example.com/in?x=1")
    assert subscription.url == "https://hooks.example.com/in?x=1"
    target = targets.check(subscription.url)
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com",
        443,
        "/in?x=1",
        "93.184.216.34",
    )


def test_the_form_says_why_and_keeps_what_was_typed(brand, brand_admin):
    response = client_for(brand_admin).post(
        reverse("webhooks:subscription_create", args=[brand.pk]),
        {
            "url": "https://169.254.169.254/latest",
            "events": ["enrolment.created", "certificate.issued"],
            "description": "Our ERP",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "an address of a private network" in page
    assert 'value="https://169.254.169.254/latest"' in page
    assert 'value="Our ERP"' in page
    assert re.search(r'value="certificate\.issued"[^>]*checked', page)
    assert not re.search(r'value="enrolment\.withdrawn"[^>]*checked', page)
    assert not Subscription.objects.exists()


def test_a_name_that_now_resolves_to_loopback_is_refused_at_delivery(
    brand, brand_admin, dns, receiver, django_capture_on_commit_callbacks
):
    """DNS rebinding: public when subscribed, loopback when delivering. No request is made."""
    dns["hooks.example.com"] = "93.184.216.34"
    subscription = subscribe(brand, brand_admin, "https://hooks.example.com/in")
    dns["hooks.example.com"] = "127.0.0.1"
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.send_test_event(subscription=subscription, actor=brand_admin)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "resolves to 127.0.0.1" in delivery.error
    assert receiver.received == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"])
def test_a_subscription_stored_with_a_private_target_is_refused_at_delivery(
    address, brand, brand_admin, settings, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    host = f"[{address}]" if ":" in address else address
    subscription = subscribe(brand, brand_admin, f"http://{host}:1/hook")
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.send_test_event(subscription=subscription, actor=brand_admin)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1 and delivery.response_code is None
    assert "must start with https://" in delivery.error


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"])
def test_an_https_private_target_is_refused_at_delivery(
    address, brand, brand_admin, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    host = f"[{address}]" if ":" in address else address
    subscription = subscribe(brand, brand_admin, f"https://{host}/hook")
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.send_test_event(subscription=subscription, actor=brand_admin)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "private network" in delivery.error


def test_ip_rules():
    import ipaddress

    assert targets.is_public(ipaddress.ip_address("93.184.216.34"))
    assert targets.is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))
    for private in ("127.0.0.1", "10.0.0.1", "169.254.1.1", "::1", "fe80::1", "224.0.0.1"):
        assert not targets.is_public(ipaddress.ip_address(private))
    assert not targets.is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
