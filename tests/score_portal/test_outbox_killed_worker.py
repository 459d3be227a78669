"""A worker killed while sending: the email is neither lost nor doubled (real worker, Redis,
PostgreSQL; run by .ci/run with CELERY_LIVE_WORKER=1)."""

from __future__ import annotations

import asyncio
import datetime
import signal
import threading
import uuid

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from score_portal import emails, jobs
from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email
from tests.conftest import send_to_queue, wait_for, worker_running

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class HangingSmtp:
    """Answers until DATA, then never acknowledges the message: the sender is stuck."""

    def __init__(self) -> None:
        self.data_started = threading.Event()
        self.port = 0
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        async def session(reader, writer):
            writer.write(b"220 hang ESMTP\r\n")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-hang\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    self.data_started.set()
                    await asyncio.sleep(3600)
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()

        def run():
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(asyncio.start_server(session, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)


def test_an_email_claimed_by_a_killed_worker_is_sent_once_by_the_sweep(tmp_path):
    sink = HangingSmtp()
    queue = f"score-killed-{uuid.uuid4().hex[:8]}"
    with worker_running(
        tmp_path / "worker.log",
        queue=queue,
        EMAIL_URL=f"smtp://127.0.0.1:{sink.port}",
        EMAIL_TIMEOUT="3600",
    ) as worker:
        email = OutboundEmail.objects.create(
            to="manager@factory.example.org",
            subject="Certificate ready",
            body_text="Body",
            template="test",
            language="en",
        )
        send_to_queue(deliver_email, queue, email.pk)  # the sweep below delivers in-process
        assert sink.data_started.wait(60), "the worker never started sending"

        def claimed():
            email.refresh_from_db()
            return email.status == OutboundEmail.Status.SENDING

        assert wait_for(claimed)
        worker.send_signal(signal.SIGKILL)  # killed mid-send: the message is never acked
        worker.wait(30)

    # Not lost: the row is still SENDING and nothing was sent.
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENDING and email.sent_at is None
    # While the claim is fresh, neither a redelivered task nor the sweep sends it twice...
    assert emails.deliver(email.pk) is False
    assert jobs.sweep() == 0
    # ...and once it is stale (JOB_STALE_MINUTES), the sweep hands it back and it is sent once.
    later = timezone.now() + datetime.timedelta(minutes=settings.JOB_STALE_MINUTES + 1)
    assert jobs.sweep(now=later) == 1
    assert jobs.sweep(now=later) == 0
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert [m.to for m in mail.outbox] == [["manager@factory.example.org"]]
