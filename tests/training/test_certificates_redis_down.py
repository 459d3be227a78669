"""Redis down while people act: requests finish at once, and every email goes out exactly once
when it is back (the sweeps queue what could not be queued)."""

from __future__ import annotations

import datetime
import time
from collections import Counter

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from score_portal import jobs
from score_portal.celery import app as celery_app
from score_portal.models import OutboundEmail
from tests.conftest import client_for
from training.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_actions_complete_while_redis_is_down_and_emails_go_out_once_when_it_is_back(
    delivered,
    trainer,
    factory_manager,
    brand_staff,
    broker_down,
    django_capture_on_commit_callbacks,
):
    OutboundEmail.objects.all().delete()
    mail.outbox.clear()
    trainer_client = client_for(trainer)
    url = reverse("training:enrolment_act", args=[delivered.pk, "complete"])

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        completed = trainer_client.post(url)
    with django_capture_on_commit_callbacks(execute=True):
        reset = client_for(None).post(
            reverse("account_reset_password"), {"email": brand_staff.email}
        )
    elapsed = time.monotonic() - started
    print(f"two requests with Redis down: {elapsed * 1000:.0f} ms")
    # The requests finished normally (no error page, no hang) ...
    assert completed.status_code == 302 and reset.status_code == 302
    # A generous hang guard (publishing fails in milliseconds on a refused connection).
    assert elapsed < 20
    # ... and their work is safe in the database, not sent yet.
    delivered.refresh_from_db()
    assert delivered.status == "completed"
    certificate = Certificate.objects.get(enrolment=delivered)
    assert certificate.status == Certificate.Status.PENDING
    assert certificate.attempts == 0
    queued = Counter(OutboundEmail.objects.values_list("template", flat=True))
    assert queued["enrolment_completed"] == 2  # factory manager and brand staff
    assert sum(queued.values()) == 3  # and the password reset
    assert not OutboundEmail.objects.exclude(status=OutboundEmail.Status.QUEUED).exists()
    assert mail.outbox == []

    # Redis is back; the periodic sweeps run (twice, as beat would), a few minutes later.
    broker_down()
    later = timezone.now() + datetime.timedelta(minutes=3)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            jobs.sweep(now=later)
        # The certificate email is written when the PDF exists: the next sweep sends it.
        later += datetime.timedelta(minutes=2)

    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED and certificate.pdf
    assert not OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()
    sent = Counter((tuple(m.to), _kind(m.subject)) for m in mail.outbox)
    assert sent == {
        ((factory_manager.email,), "completed"): 1,
        ((brand_staff.email,), "completed"): 1,
        ((brand_staff.email,), "reset"): 1,
        ((factory_manager.email,), "certificate"): 1,
    }


def _kind(subject: str) -> str:
    if "certificate" in subject.lower():
        return "certificate"
    if "password" in subject.lower():
        return "reset"
    return "completed"


def test_publishing_is_bounded_so_a_request_never_hangs(settings):
    """The broker settings that make publishing fail fast (connect timeout, one retry)."""
    assert celery_app.conf.broker_transport_options["socket_connect_timeout"] <= 5
    assert celery_app.conf.broker_connection_timeout <= 5
    assert celery_app.conf.task_publish_retry_policy["max_retries"] <= 1
