"""Delivering webhooks to a real HTTP receiver on 127.0.0.1: the signature as a receiver
checks it, retries with backoff (the sweep queues them), giving up after three days, 410
disabling the subscription, redirects not followed."""

from __future__ import annotations

import datetime
import json
import textwrap

import pytest
import time_machine
from django.utils import timezone

from score_portal import jobs
from tests.webhooks.conftest import subscribe
from webhooks import services, signing
from webhooks.models import MAX_ATTEMPTS, RETRY_FOR, Delivery, Subscription, wait_after

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]
S = Delivery.Status


def _test_event(subscription, admin, capture):
    with capture(execute=True):
        delivery = services.send_test_event(subscription=subscription, actor=admin)
    delivery.refresh_from_db()
    return delivery


def test_a_receiver_verifies_the_signature_of_a_test_event(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)

    assert delivery.status == S.DELIVERED and delivery.response_code == 200
    assert delivery.attempts == 1 and delivery.delivered_at is not None
    [request] = receiver.received
    assert request.path == "/hooks/score"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Score-Event"] == "webhook.test"
    assert request.headers["X-Score-Event-Id"] == str(delivery.event_id)
    # As a receiver would: parse t and v1, recompute HMAC-SHA256 over "t.body" with the
    # secret it was shown, compare in constant time, refuse an old timestamp.
    header = request.headers["X-Score-Signature"]
    parts = dict(item.split("=", 1) for item in header.split(","))
    import hashlib
    import hmac

    expected = hmac.new(
        subscription.secret.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    now = int(timezone.now().timestamp())
    assert signing.verify(subscription.secret, header, request.body, now=now)
    assert not signing.verify(subscription.secret, header, request.body + b" ", now=now)
    assert not signing.verify("whsec_wrong", header, request.body, now=now)
    assert not signing.verify(subscription.secret, header, request.body, now=now + 3600)
    body = request.json
    assert body["event"] == "webhook.test" and body["id"] == str(delivery.event_id)
    assert body["organisation_id"] == brand.pk
    assert body["object"] == {
        "type": "subscription",
        "id": subscription.pk,
        "url": None,
        "api_url": None,
    }
    assert body["created_at"].endswith("Z")


def test_a_rotated_secret_signs_the_next_delivery(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, brand_admin, receiver.url)
    old = subscription.secret
    services.rotate_secret(subscription=subscription, actor=brand_admin)
    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.secret.startswith("whsec_")
    _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    request = receiver.received[-1]
    header = request.headers["X-Score-Signature"]
    now = int(timezone.now().timestamp())
    assert signing.verify(subscription.secret, header, request.body, now=now)
    assert not signing.verify(old, header, request.body, now=now)


def test_the_backoff_doubles_from_a_minute_up_to_six_hours():
    assert [wait_after(n) for n in range(1, 12)] == [
        datetime.timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360)
    ]
    assert wait_after(100) == datetime.timedelta(hours=6)
    # The attempts three days allow stay below what the claim allows.
    total, attempts = datetime.timedelta(), 1
    while total + wait_after(attempts) <= RETRY_FOR:
        total += wait_after(attempts)
        attempts += 1
    assert attempts == 20 < MAX_ATTEMPTS


def test_500_then_200_is_retried_by_the_sweep_and_delivered(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500]
    subscription = subscribe(brand, brand_admin, receiver.url)
    started = timezone.now()
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    assert delivery.status == S.PENDING and delivery.attempts == 1
    assert delivery.response_code == 500
    assert delivery.error.startswith("HTTP 500")
    next_at = delivery.next_attempt_at
    assert started + wait_after(1) <= next_at <= timezone.now() + wait_after(1)
    # Not due yet: the sweep leaves it.
    assert jobs.sweep(Delivery, now=next_at - datetime.timedelta(seconds=1)) == 0
    assert len(receiver.received) == 1
    # Due: the sweep queues it (in-process here) and the receiver answers 200.
    assert jobs.sweep(Delivery, now=next_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == S.DELIVERED and delivery.attempts == 2
    assert delivery.response_code == 200 and delivery.error == ""
    first, second = receiver.received
    assert first.body == second.body  # the same event, the same bytes
    assert first.headers["X-Score-Event-Id"] == second.headers["X-Score-Event-Id"]


def test_each_failed_attempt_waits_twice_as_long_and_three_days_end_it(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [503] * 100
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    waits = []
    for _attempt in range(40):
        delivery.refresh_from_db()
        if delivery.status != S.PENDING:
            break
        previous = delivery.next_attempt_at
        with time_machine.travel(previous, tick=False):
            assert services.deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        if delivery.status == S.PENDING:
            waits.append(delivery.next_attempt_at - previous)
    assert waits[:4] == [datetime.timedelta(minutes=m) for m in (2, 4, 8, 16)]
    assert delivery.status == S.FAILED
    assert delivery.attempts == 20
    assert delivery.error.startswith("Given up after 20 attempts: HTTP 503")
    assert delivery.next_attempt_at <= delivery.retry_until
    # A failed delivery is final: the sweep leaves it. The receiver's fault is the
    # organisation's to see (its log), not a failed job of the portal's (admin, health).
    far = delivery.retry_until + datetime.timedelta(days=1)
    assert jobs.sweep(Delivery, now=far) == 0
    assert delivery.last_error == ""
    assert not jobs.failed(jobs.kind_of(Delivery)).exists()


def test_retry_now_sends_a_failed_delivery_again(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=S.FAILED, error="Given up", retry_until=timezone.now()
    )
    delivery.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_delivery(delivery=delivery, actor=brand_admin)
    delivery.refresh_from_db()
    assert delivery.status == S.DELIVERED and delivery.attempts == 1
    assert delivery.retry_until > timezone.now() + datetime.timedelta(days=2)
    assert len(receiver.received) == 2
    with pytest.raises(services.WebhookError, match="Only a failed or waiting delivery"):
        services.retry_delivery(delivery=delivery, actor=brand_admin)


def test_410_gone_disables_the_subscription(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [410]
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    assert delivery.status == S.FAILED and delivery.response_code == 410
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "410" in subscription.disabled_reason
    # No new event reaches it, and a delivery still waiting fails without a request.
    waiting = Delivery.for_event(subscription, event_id=delivery.event_id, event="x", body="{}")
    waiting.save()
    assert services.deliver(delivery_id=waiting.pk)
    waiting.refresh_from_db()
    assert waiting.status == S.FAILED and waiting.error == "The subscription is disabled."
    assert len(receiver.received) == 1
    with pytest.raises(services.WebhookError, match="Enable the subscription first"):
        services.send_test_event(subscription=subscription, actor=brand_admin)


def test_a_redirect_is_not_followed(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [302]
    receiver.redirect_to = receiver.url.replace("/hooks/score", "/stolen")
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    assert delivery.status == S.PENDING and delivery.response_code == 302
    assert [r.path for r in receiver.received] == ["/hooks/score"]


def test_a_receiver_that_is_down_is_a_failed_attempt(
    brand, brand_admin, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, brand_admin, "http://127.0.0.1:9/nobody-listens")
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    assert delivery.status == S.PENDING and delivery.attempts == 1
    assert delivery.response_code is None and delivery.error


def test_delivering_twice_posts_once(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    assert services.deliver(delivery_id=delivery.pk) is False
    assert len(receiver.received) == 1


def test_a_disabled_subscription_is_enabled_again_and_deleted(brand, brand_admin, receiver):
    subscription = subscribe(brand, brand_admin, receiver.url)
    services.set_active(subscription=subscription, actor=brand_admin, active=False)
    assert not Subscription.objects.get(pk=subscription.pk).is_active
    services.set_active(subscription=subscription, actor=brand_admin, active=True)
    assert Subscription.objects.get(pk=subscription.pk).is_active
    services.delete_subscription(subscription=subscription, actor=brand_admin)
    assert not Subscription.objects.filter(pk=subscription.pk).exists()


def test_the_body_is_small_json(brand, brand_admin, receiver):
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = services.send_test_event(subscription=subscription, actor=brand_admin)
    assert len(delivery.body) < 600
    assert set(json.loads(delivery.body)) == {
        "id",
        "event",
        "created_at",
        "organisation_id",
        "object",
        "data",
    }


def test_the_readme_s_receiver_snippet_verifies_a_real_delivery(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    """The signature check the README shows receivers works on what the portal sends."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("def verify(secret: str, header: str, body: bytes")
    block = readme[
        readme.rindex("```python", 0, start) + len("```python") : readme.index("```", start)
    ]
    namespace: dict = {}
    exec(textwrap.dedent(block), namespace)  # the README's own code, as a receiver would paste it
    subscription = subscribe(brand, brand_admin, receiver.url)
    _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    [request] = receiver.received
    header = request.headers["X-Score-Signature"]
    assert namespace["verify"](subscription.secret, header, request.body)
    assert not namespace["verify"](subscription.secret, header, request.body[:-1])
    assert not namespace["verify"]("whsec_other", header, request.body)


def test_the_admin_s_retry_gives_a_given_up_delivery_three_more_days(
    brand, brand_admin, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, brand_admin, receiver.url)
    delivery = _test_event(subscription, brand_admin, django_capture_on_commit_callbacks)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=S.FAILED, attempts=20, retry_until=timezone.now() - datetime.timedelta(days=1)
    )
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.retry(Delivery, [delivery.pk]) == 1
    delivery.refresh_from_db()
    # Failed once more, and waits for its next attempt rather than being given up.
    assert delivery.status == S.PENDING and delivery.attempts == 1
    assert delivery.retry_until > timezone.now() + datetime.timedelta(days=2)
