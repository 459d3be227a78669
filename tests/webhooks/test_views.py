"""The webhook pages: an organisation's administrator subscribes, sees the secret once, sends
a test event, reads the delivery log and retries; everyone else gets 404 on every page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from partners.models import Membership
from partners.services import add_member
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.webhooks.conftest import subscribe
from webhooks.models import Delivery, Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]


@pytest.fixture
def subscription(brand, brand_admin, receiver):
    return subscribe(brand, brand_admin, receiver.url, ["enrolment.created"])


@pytest.fixture
def failed_delivery(subscription):
    delivery = Delivery.for_event(
        subscription, event_id="00000000-0000-0000-0000-000000000001", event="x", body="{}"
    )
    delivery.status = Delivery.Status.FAILED
    delivery.attempts = 20
    delivery.error = "Given up after 20 attempts: HTTP 503"
    delivery.save()
    return delivery


def _pages(subscription, delivery):
    org, pk = subscription.organisation_id, subscription.pk
    return [
        ("get", reverse("webhooks:subscription_list", args=[org])),
        ("post", reverse("webhooks:subscription_create", args=[org])),
        ("get", reverse("webhooks:subscription_detail", args=[org, pk])),
        ("post", reverse("webhooks:subscription_test", args=[org, pk])),
        ("post", reverse("webhooks:subscription_rotate", args=[org, pk])),
        ("post", reverse("webhooks:subscription_active", args=[org, pk])),
        ("post", reverse("webhooks:delivery_retry", args=[org, pk, delivery.pk])),
        ("post", reverse("webhooks:subscription_delete", args=[org, pk])),  # last
    ]


@pytest.mark.parametrize(
    "persona",
    ["other_brand_admin", "brand_staff", "brand_viewer", "provider_admin", "ilo_admin", None],
)
def test_everyone_but_the_organisation_s_admins_gets_404_everywhere(
    request, persona, subscription, failed_delivery
):
    user = request.getfixturevalue(persona) if persona else None
    client = client_for(user)
    for method, url in _pages(subscription, failed_delivery):
        response = getattr(client, method)(url)
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response.url
        else:
            assert response.status_code == 404, (persona, method, url)
    subscription.refresh_from_db()
    assert subscription.is_active
    assert Subscription.objects.filter(pk=subscription.pk).exists()
    assert Delivery.objects.get(pk=failed_delivery.pk).status == Delivery.Status.FAILED


def test_another_organisation_s_subscription_under_one_s_own_id_is_404(
    other_brand, other_brand_admin, brand, brand_admin, receiver, failed_delivery
):
    theirs = subscribe(other_brand, other_brand_admin, receiver.url)
    client = client_for(brand_admin)
    for org in (brand.pk, other_brand.pk):
        url = reverse("webhooks:subscription_detail", args=[org, theirs.pk])
        assert client.get(url).status_code == 404
    retry = reverse("webhooks:delivery_retry", args=[other_brand.pk, theirs.pk, failed_delivery.pk])
    assert client_for(other_brand_admin).post(retry).status_code == 404


def test_the_people_page_links_the_webhooks_for_admins_only(brand, brand_admin, ilo_admin):
    people = reverse("partners:organisation_people", args=[brand.pk])
    hooks = reverse("webhooks:subscription_list", args=[brand.pk])
    assert hooks in client_for(brand_admin).get(people).content.decode()
    assert hooks not in client_for(ilo_admin).get(people).content.decode()


def test_the_admin_subscribes_sees_the_secret_once_and_tests(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    client = client_for(brand_admin)
    response = client.post(
        reverse("webhooks:subscription_create", args=[brand.pk]),
        {
            "url": receiver.url,
            "events": ["enrolment.created", "import.finished"],
            "description": "ERP",
        },
    )
    subscription = Subscription.objects.get()
    assert response.status_code == 302 and response.url == subscription.get_absolute_url()
    assert subscription.events == ["enrolment.created", "import.finished"]
    assert subscription.created_by == brand_admin
    first = client.get(response.url).content.decode()
    assert subscription.secret in first
    assert subscription.secret not in client.get(response.url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webhooks:subscription_test", args=[brand.pk, subscription.pk]))
    log = client.get(subscription.get_absolute_url()).content.decode()
    assert "webhook.test" in log and "Delivered" in log
    assert len(receiver.received) == 1

    old = subscription.secret
    client.post(reverse("webhooks:subscription_rotate", args=[brand.pk, subscription.pk]))
    subscription.refresh_from_db()
    assert subscription.secret != old
    assert subscription.secret in client.get(subscription.get_absolute_url()).content.decode()

    client.post(
        reverse("webhooks:subscription_active", args=[brand.pk, subscription.pk]), {"active": "0"}
    )
    subscription.refresh_from_db()
    assert not subscription.is_active
    client.post(
        reverse("webhooks:subscription_active", args=[brand.pk, subscription.pk]), {"active": "1"}
    )
    subscription.refresh_from_db()
    assert subscription.is_active

    response = client.post(
        reverse("webhooks:subscription_delete", args=[brand.pk, subscription.pk])
    )
    assert response.url == reverse("webhooks:subscription_list", args=[brand.pk])
    assert not Subscription.objects.exists()


def test_a_form_without_events_keeps_the_url(brand, brand_admin, receiver):
    response = client_for(brand_admin).post(
        reverse("webhooks:subscription_create", args=[brand.pk]),
        {"url": receiver.url, "description": "Our ERP"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose at least one event." in page
    assert f'value="{receiver.url}"' in page and 'value="Our ERP"' in page


def test_retry_now_from_the_log(
    brand, brand_admin, subscription, failed_delivery, receiver, django_capture_on_commit_callbacks
):
    client = client_for(brand_admin)
    log = client.get(subscription.get_absolute_url()).content.decode()
    retry = reverse("webhooks:delivery_retry", args=[brand.pk, subscription.pk, failed_delivery.pk])
    assert retry in log and "Given up after 20 attempts" in log
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(retry).status_code == 302
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == Delivery.Status.DELIVERED
    assert len(receiver.received) == 1


def test_the_delivery_log_is_paginated_in_constant_queries(
    brand, brand_admin, subscription, django_assert_max_num_queries
):
    def add(count):
        Delivery.objects.bulk_create(
            Delivery.for_event(
                subscription, event_id=f"00000000-0000-0000-0000-{n:012d}", event="x", body="{}"
            )
            for n in range(count)
        )

    client = client_for(brand_admin)
    add(3)
    client.get(subscription.get_absolute_url())
    with django_assert_max_num_queries(12) as few:
        client.get(subscription.get_absolute_url())
    add(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(subscription.get_absolute_url()).content.decode()
    assert "Page 1 of 3" in page
    assert "Page 3 of 3" in client.get(subscription.get_absolute_url() + "?page=3").content.decode()


def test_a_second_admin_of_the_same_organisation_manages_it(brand, subscription):
    colleague = UserFactory(email="second-admin@brand-a.example.org")
    add_member(partner=brand, user=colleague, role=Membership.Role.ADMIN)
    assert client_for(colleague).get(subscription.get_absolute_url()).status_code == 200


HOSTILE = ["²", "9" * 30, "\x00", "a\r\nX-Injected: 1", "<script>", "z" * 3000, "-1"]


def test_no_input_answers_500(brand, brand_admin, subscription, failed_delivery):
    client = Client(raise_request_exception=False)
    client.force_login(brand_admin)
    fields = ["url", "events", "description", "active", "page"]
    urls = [url for _method, url in _pages(subscription, failed_delivery)]
    urls.append(reverse("webhooks:subscription_detail", args=[brand.pk, 999999]))
    for url in urls:
        for value in HOSTILE:
            for method in ("get", "post"):
                data = dict.fromkeys(fields, value)
                response = getattr(client, method)(url, data)
                assert response.status_code < 500, (method, url, value)
                for header_value in response.headers.values():
                    assert "\n" not in header_value
