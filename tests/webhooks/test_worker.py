"""A webhook through the real path: a service commits, Redis carries the news, a separate
Celery worker posts to a receiver on 127.0.0.1; it answers 500, the sweep queues the retry,
it answers 200."""

from __future__ import annotations

import pytest
from django.db import transaction

from score_portal import jobs
from tests.conftest import wait_for
from tests.webhooks.conftest import subscribe
from training.services import enrolment as training
from webhooks import signing
from webhooks.models import Delivery

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_live_worker_delivers_a_signed_event_and_retries_after_a_500(
    live_worker, world, factory_manager, brand, brand_admin, receiver, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    subscription = subscribe(brand, brand_admin, receiver.url, ["enrolment.confirmed"])
    receiver.answers = [500]
    with transaction.atomic():
        training.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)

    def delivery():
        return Delivery.objects.filter(subscription=subscription).first()

    assert wait_for(lambda: delivery() and delivery().attempts == 1, timeout=60)
    first = delivery()
    assert wait_for(
        lambda: delivery().status == Delivery.Status.PENDING and delivery().claimed_at is None
    )
    first = delivery()
    assert first.response_code == 500
    # The sweep (beat, every minute) queues it once due: here, asked as if a minute later.
    assert jobs.sweep(Delivery, now=first.next_attempt_at) == 1
    assert wait_for(lambda: delivery().status == Delivery.Status.DELIVERED, timeout=60), (
        delivery().error
    )
    done = delivery()
    assert done.attempts == 2 and done.response_code == 200
    assert len(receiver.received) == 2
    request = receiver.received[-1]
    assert request.json["event"] == "enrolment.confirmed"
    assert request.json["object"]["id"] == world.enrolment.pk
    assert signing.verify(
        subscription.secret,
        request.headers["X-Score-Signature"],
        request.body,
        now=int(done.delivered_at.timestamp()),
    )
