"""Writes about webhooks: subscribing, the secret, the deliveries and their attempts."""

from __future__ import annotations

import datetime
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Partner
from score_portal import jobs
from score_portal.access import can_manage_webhooks
from score_portal.events import KINDS, Event
from score_portal.models import User
from score_portal.scope import scope_of
from webhooks import sending, signing, targets
from webhooks.models import RETRY_FOR, Delivery, Subscription, new_secret, wait_after

logger = logging.getLogger(__name__)

S = Delivery.Status
TEST_EVENT = "webhook.test"
# An organisation's subscriptions at most (each event is posted to every one of them).
MAX_SUBSCRIPTIONS = 20

# Where the object of an event is read by a person (a page of the portal) and by a system
# (the API, /api/v1/: by URL name, the webhooks app does not import the API app).
OBJECT_API = {
    "enrolment": "api:enrolment-detail",
    "certificate": "api:certificate-detail",
    "supplier_import": "api:import-detail",
}
OBJECT_PAGES = {
    "enrolment": "training:enrolment_detail",
    "certificate": "training:certificate_detail",
    "supplier_import": "suppliers:import_detail",
    "factory": "suppliers:factory_detail",
}


class WebhookError(Exception):
    """A webhook rule was broken; the message is for the person who tried."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _require_admin(actor: User, organisation_id: int) -> None:
    if not can_manage_webhooks(scope_of(actor), organisation_id):
        raise WebhookError(_("Only the organisation's administrators manage its webhooks."))


def _clean_events(chosen: Iterable[str]) -> list[str]:
    kinds = [kind for kind in KINDS if kind in set(chosen)]
    if not kinds:
        raise WebhookError(_("Choose at least one event."), field="events")
    return kinds


def check_url(url: str) -> str:
    """The URL as stored, once it passes the target rule (webhooks.targets)."""
    url = url.strip()
    try:
        targets.check(url)
    except targets.TargetRefused as refusal:
        raise WebhookError(str(refusal), field="url") from None
    return url


# --- Subscriptions ---------------------------------------------------------------------


@transaction.atomic
def create_subscription(
    *,
    organisation: Partner,
    actor: User,
    url: str,
    events: Iterable[str],
    description: str = "",
) -> Subscription:
    """Subscribe ``url`` to ``events`` for ``organisation``; its secret is new (shown once)."""
    _require_admin(actor, organisation.pk)
    kinds = _clean_events(events)
    url = check_url(url)
    Partner.objects.select_for_update().filter(pk=organisation.pk).first()
    if Subscription.objects.filter(organisation=organisation).count() >= MAX_SUBSCRIPTIONS:
        raise WebhookError(
            _("An organisation has at most %(count)s webhook subscriptions.")
            % {"count": MAX_SUBSCRIPTIONS}
        )
    return Subscription.objects.create(
        organisation=organisation,
        url=url,
        events=kinds,
        description=description.strip(),
        created_by=actor,
    )


@transaction.atomic
def rotate_secret(*, subscription: Subscription, actor: User) -> Subscription:
    """Give the subscription a new secret: deliveries are signed with it from now on."""
    _require_admin(actor, subscription.organisation_id)
    subscription.secret = new_secret()
    subscription.secret_rotated_at = timezone.now()
    subscription.save(update_fields=["secret", "secret_rotated_at"])
    return subscription


@transaction.atomic
def set_active(*, subscription: Subscription, actor: User, active: bool) -> Subscription:
    """Disable or enable a subscription. Disabled, it receives no new event and its waiting
    deliveries fail; enabled again, the URL is checked again."""
    _require_admin(actor, subscription.organisation_id)
    if active:
        check_url(subscription.url)
    subscription.is_active = active
    subscription.disabled_reason = "" if active else _("Disabled by an administrator.")
    subscription.save(update_fields=["is_active", "disabled_reason"])
    return subscription


@transaction.atomic
def delete_subscription(*, subscription: Subscription, actor: User) -> None:
    """Delete the subscription and its delivery log."""
    _require_admin(actor, subscription.organisation_id)
    subscription.delete()


# --- Deliveries ------------------------------------------------------------------------


def _object_url(
    object_type: str, object_id: int, data: dict[str, Any], names: dict[str, str] = OBJECT_PAGES
) -> str | None:
    if object_type == "visit":
        object_type, object_id = "enrolment", data.get("enrolment_id", 0)
    name = names.get(object_type)
    if name is None:
        return None
    try:
        return settings.SITE_URL + reverse(name, args=[object_id])
    except NoReverseMatch:
        return None


def payload(
    *,
    event_id: uuid.UUID,
    kind: str,
    occurred_at: datetime.datetime,
    organisation_id: int,
    object_type: str,
    object_id: int,
    data: dict[str, Any],
) -> str:
    """The body of a delivery: small, the object's id and where to read it."""
    return json.dumps(
        {
            "id": str(event_id),
            "event": kind,
            "created_at": occurred_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
            "organisation_id": organisation_id,
            "object": {
                "type": object_type,
                "id": object_id,
                "url": _object_url(object_type, object_id, data),
                "api_url": _object_url(object_type, object_id, data, OBJECT_API),
            },
            "data": data,
        },
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def record_events(events: Sequence[Event]) -> list[Delivery]:
    """The events receiver (webhooks.apps): one delivery per event and active subscription
    that wants it, written with one INSERT, queued after commit."""
    organisation_ids = set().union(*(event.organisation_ids for event in events))
    subscriptions = list(
        Subscription.objects.filter(organisation_id__in=organisation_ids, is_active=True)
    )
    rows = []
    for event in events:
        for subscription in subscriptions:
            if subscription.organisation_id in event.organisation_ids and subscription.wants(
                event.kind
            ):
                rows.append(
                    Delivery.for_event(
                        subscription,
                        event_id=event.id,
                        event=event.kind,
                        body=payload(
                            event_id=event.id,
                            kind=event.kind,
                            occurred_at=event.occurred_at,
                            organisation_id=subscription.organisation_id,
                            object_type=event.object_type,
                            object_id=event.object_id,
                            data=dict(event.data),
                        ),
                    )
                )
    if not rows:
        return []
    with transaction.atomic():
        created = Delivery.objects.bulk_create(rows)
        for delivery in created:
            jobs.queue_after_commit(Delivery, delivery.pk)
    return created


@transaction.atomic
def send_test_event(*, subscription: Subscription, actor: User) -> Delivery:
    """Queue a ``webhook.test`` event to this subscription only, whatever it chose."""
    _require_admin(actor, subscription.organisation_id)
    if not subscription.is_active:
        raise WebhookError(_("Enable the subscription first."))
    event_id = uuid.uuid4()
    delivery = Delivery.for_event(
        subscription,
        event_id=event_id,
        event=TEST_EVENT,
        body=payload(
            event_id=event_id,
            kind=TEST_EVENT,
            occurred_at=timezone.now(),
            organisation_id=subscription.organisation_id,
            object_type="subscription",
            object_id=subscription.pk,
            data={"message": "A test event sent from the SCORE Portal."},
        ),
    )
    delivery.save()
    jobs.queue_after_commit(Delivery, delivery.pk)
    return delivery


@transaction.atomic
def retry_delivery(*, delivery: Delivery, actor: User) -> Delivery:
    """Send a failed delivery (or one waiting for its next attempt) again now, with a fresh
    three days of attempts."""
    _require_admin(actor, delivery.subscription.organisation_id)
    if not delivery.subscription.is_active:
        raise WebhookError(_("Enable the subscription first."))
    if not delivery.may_retry:
        raise WebhookError(_("Only a failed or waiting delivery can be sent again."))
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(retry_until=now + RETRY_FOR)
    if not jobs.retry(Delivery, [delivery.pk]):
        raise WebhookError(_("This delivery is being sent right now."))
    delivery.refresh_from_db()
    return delivery


def deliver(*, delivery_id: int) -> bool:
    """Post one delivery (the job's step): claimed first, so a task run twice posts once.

    2xx: delivered. 410 Gone: the receiver wants no more, the subscription is disabled.
    Anything else (another status, a timeout, a refused connection, a name that no longer
    resolves) is a failed attempt, tried again ``wait_after`` later while the three days
    last. A target that now resolves to a private address is refused without a request.
    Returns False when there was nothing to do."""
    held = jobs.claim(Delivery, delivery_id)
    if held is None:
        return False
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.is_active:
        return _end(delivery, held, S.FAILED, error=_("The subscription is disabled."))
    body = delivery.body.encode()
    try:
        target = targets.check(subscription.url)
        timestamp = int(time.time())
        answer = sending.post(
            target,
            body,
            {
                signing.HEADER: signing.header(subscription.secret, timestamp, body),
                "X-Score-Event": delivery.event,
                "X-Score-Event-Id": str(delivery.event_id),
                "X-Score-Delivery": str(delivery.pk),
            },
        )
    except targets.TargetUnresolved as error:
        return _failed_attempt(delivery, held, str(error), code=None)
    except targets.TargetRefused as error:
        return _end(delivery, held, S.FAILED, error=str(error))
    except sending.SendError as error:
        return _failed_attempt(delivery, held, str(error), code=None)
    problem = f"HTTP {answer.status}: {answer.excerpt[:300]}".strip()
    if 200 <= answer.status < 300:
        return _end(delivery, held, S.DELIVERED, code=answer.status)
    if answer.status == 410:
        with transaction.atomic():
            Subscription.objects.filter(pk=subscription.pk).update(
                is_active=False,
                disabled_reason=_("The receiver answered 410 Gone: it wants no more events."),
            )
            return _end(delivery, held, S.FAILED, error=problem, code=answer.status)
    return _failed_attempt(delivery, held, problem, code=answer.status)


def _end(
    delivery: Delivery, held: jobs.Claim, status: str, *, error: str = "", code: int | None = None
) -> bool:
    changes: dict[str, Any] = {"error": error[:2000], "response_code": code}
    if status == S.DELIVERED:
        changes["delivered_at"] = timezone.now()
    try:
        jobs.finish(Delivery, delivery.pk, held, status=status, claimed_at=None, **changes)
    except jobs.ClaimLost:
        return False
    return True


def _failed_attempt(delivery: Delivery, held: jobs.Claim, error: str, *, code: int | None) -> bool:
    """Wait ``wait_after(attempts)`` and try again (the sweep queues it then), or give up
    once that would be later than the delivery's three days."""
    next_at = timezone.now() + wait_after(held.attempts)
    if next_at > delivery.retry_until:
        given_up = _("Given up after %(count)s attempts: %(error)s") % {
            "count": held.attempts,
            "error": error,
        }
        return _end(delivery, held, S.FAILED, error=given_up, code=code)
    try:
        jobs.finish(
            Delivery,
            delivery.pk,
            held,
            status=S.PENDING,
            claimed_at=None,
            next_attempt_at=next_at,
            error=error[:2000],
            response_code=code,
        )
    except jobs.ClaimLost:
        return False
    return True
