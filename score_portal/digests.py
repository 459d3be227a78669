"""The daily digest: one email a day with the notices a person chose not to get by email.

Offered to everyone on the notice settings page. Beat runs ``send_daily_digests`` every
hour; a person's digest goes out on the first run after ``DIGEST_HOUR`` o'clock in their
own time zone (the portal's when they have none), and lists their notices that were not
emailed, are still unread and were in no digest yet, from the last ``DIGEST_DAYS`` days
(read ones they have already seen; older ones wait in the inbox). Nothing to list: no email.

At most one a day: the person's local day is claimed first (a conditional update of
``NoticeSettings.last_digest_on``), in the transaction that queues the email and marks the
notices, so a second run the same day, or two at once, sends nothing.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from score_portal.emails import queue_email
from score_portal.models import Notice, NoticeSettings, User

DIGEST_HOUR = 7  # local time, from which the day's digest goes out
DIGEST_DAYS = 7  # notices older than this stay in the inbox only
DIGEST_LIST = 50  # notices listed in one email; the rest are counted


def local_now(user: User, now: datetime.datetime) -> datetime.datetime:
    try:
        zone = zoneinfo.ZoneInfo(user.time_zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return now.astimezone(zone)


def send_daily_digests(*, now: datetime.datetime | None = None) -> int:
    """Queue today's digest for everyone whose hour has come; returns how many were queued."""
    now = now or timezone.now()
    sent = 0
    due = NoticeSettings.objects.filter(daily_digest=True).select_related("user")
    for row in due.filter(user__is_active=True).iterator():
        local = local_now(row.user, now)
        if local.hour < DIGEST_HOUR or row.last_digest_on == local.date():
            continue
        sent += send_digest(user=row.user, day=local.date(), now=now)
    return sent


@transaction.atomic
def send_digest(*, user: User, day: datetime.date, now: datetime.datetime) -> bool:
    """Claim ``user``'s digest of ``day`` and queue it if there is anything to tell."""
    claimed = (
        NoticeSettings.objects.filter(user=user, daily_digest=True)
        .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=day))
        .update(last_digest_on=day)
    )
    if not claimed:
        return False
    waiting = Notice.objects.filter(
        recipient=user,
        emailed=False,
        read_at__isnull=True,
        digested_at__isnull=True,
        created_at__lte=now,
        created_at__gte=now - datetime.timedelta(days=DIGEST_DAYS),
    ).order_by("-created_at", "-pk")
    ids = list(waiting.values_list("pk", flat=True))
    if not ids:
        return False
    listed = list(waiting[:DIGEST_LIST])
    language = user.language or settings.LANGUAGE_CODE
    queue_email(
        to=user.email,
        template="notice_digest",
        context={
            "recipient": user,
            "day": day,
            "notices": [(notice.title(language), notice.link) for notice in listed],
            "more": len(ids) - len(listed),
            "total": len(ids),
        },
        language=language,
    )
    Notice.objects.filter(pk__in=ids).update(digested_at=now)
    return True
