"""Subscriptions (an organisation's URL and the kinds of event it wants) and deliveries (one
event posted to one subscription: a background job, score_portal.jobs)."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from score_portal import access, jobs
from score_portal.scope import Scope

# A delivery is retried for this long after it was first queued, then given up.
RETRY_FOR = datetime.timedelta(days=3)
# The wait after the n-th failed attempt: one minute, doubling, at most six hours.
FIRST_WAIT = datetime.timedelta(minutes=1)
LONGEST_WAIT = datetime.timedelta(hours=6)
# Attempts the claim allows: more than the schedule above fits into RETRY_FOR (20), so the
# three days decide, not the count.
MAX_ATTEMPTS = 30


def wait_after(attempt: int) -> datetime.timedelta:
    """How long a delivery waits after its ``attempt``-th attempt failed (1, 2, 4 … minutes,
    at most six hours)."""
    return min(FIRST_WAIT * 2 ** max(0, min(attempt - 1, 20)), LONGEST_WAIT)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def visible_to(self, scope: Scope) -> SubscriptionQuerySet:
        """Subscriptions of the organisations whose webhooks the person manages."""
        return self.filter(organisation_id__in=access.webhook_partner_ids(scope))


class Subscription(models.Model):
    """An organisation's URL that receives the kinds of event it chose."""

    organisation = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("organisation"),
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        "score_portal.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    secret_rotated_at = models.DateTimeField(_("secret rotated at"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["organisation_id", "created_at", "pk"]
        indexes = [models.Index(fields=["organisation", "is_active"])]

    def __str__(self) -> str:
        return self.url

    def get_absolute_url(self) -> str:
        return reverse("webhooks:subscription_detail", args=[self.organisation_id, self.pk])

    def wants(self, kind: str) -> bool:
        return kind in (self.events or [])


class Delivery(jobs.Job):
    """One event posted to one subscription's URL, until it is answered with a 2xx.

    The body is written once, when the event happens, so every attempt sends the same bytes
    (with the same event id, by which a receiver drops a repeat); the signature is made at
    each attempt, over its own timestamp."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event_id = models.UUIDField(_("event id"))
    event = models.CharField(_("event"), max_length=40)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    retry_until = models.DateTimeField(_("retried until"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    # What the receiver answered, or why it could not be reached: the organisation's to see
    # and fix, not the ILO's. ``last_error`` (score_portal.jobs) stays for the portal's own
    # faults (a worker that died), which the admin's Background jobs page and the health
    # page list; a customer's failing endpoint does not belong there.
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["subscription", "-created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhook_delivery_delivered_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id}"

    def get_absolute_url(self) -> str:
        return self.subscription.get_absolute_url()

    @property
    def may_retry(self) -> bool:
        """A person may send it again now: it failed, or it waits for its next attempt."""
        return self.status == self.Status.FAILED or (
            self.status == self.Status.PENDING and self.attempts > 0
        )

    @classmethod
    def for_event(cls, subscription: Subscription, **fields: Any) -> Delivery:
        now = timezone.now()
        return cls(
            subscription=subscription,
            created_at=now,
            retry_until=now + RETRY_FOR,
            next_attempt_at=jobs.soon(),
            **fields,
        )


# Posted one by one (a slow receiver holds up only its own delivery). A failed attempt sets
# its own next attempt (``wait_after``) and the sweep queues it then; a delivery still
# failing three days after the event is given up (FAILED, final, with its last error).
jobs.register(
    Delivery,
    steps=(
        jobs.Step(
            waiting=(Delivery.Status.PENDING,),
            working=Delivery.Status.SENDING,
            done=Delivery.Status.DELIVERED,
            task="webhooks.tasks.deliver_webhook",
        ),
    ),
    failed=Delivery.Status.FAILED,
    max_attempts=MAX_ATTEMPTS,
    # A failed delivery retried (from its log, or the admin's Background jobs page) gets a
    # fresh three days of attempts.
    retry_changes={
        "retry_until": models.ExpressionWrapper(
            Now() + RETRY_FOR, output_field=models.DateTimeField()
        )
    },
    # An attempt lasts the connect and read timeouts (5 s each): a worker holding one for two
    # minutes has died.
    stale=datetime.timedelta(minutes=2),
)
