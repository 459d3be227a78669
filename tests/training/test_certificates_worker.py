"""A certificate through the real path: Redis, a separate Celery worker process, PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from score_portal.models import OutboundEmail
from tests.conftest import wait_for
from tests.factories import mark_completed
from training.models import Certificate
from training.services.certificates import request_certificate
from training.tasks import render_certificate

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_live_worker_renders_the_certificate_and_emails_it_once(
    live_worker, world, factory_manager
):
    before = set(live_worker.outbox_dir.iterdir())
    mark_completed(world.enrolment)
    with transaction.atomic():
        certificate = request_certificate(enrolment=world.enrolment)
    code = certificate.code

    def issued():
        certificate.refresh_from_db()
        return certificate.status == Certificate.Status.ISSUED

    assert wait_for(issued, timeout=60), f"still {certificate.status}: {certificate.last_error}"
    with default_storage.open(certificate.pdf.name, "rb") as stored:
        assert stored.read(5) == b"%PDF-"

    def emailed():
        return OutboundEmail.objects.filter(
            template="certificate_issued", status=OutboundEmail.Status.SENT
        ).exists()

    assert wait_for(emailed)
    # A duplicate render task (as after a redelivered message) changes nothing.
    render_certificate.delay(certificate.pk)
    wait_for(lambda: False, timeout=2)
    assert Certificate.objects.filter(enrolment=world.enrolment).count() == 1
    files = set(live_worker.outbox_dir.iterdir()) - before
    mails = [f.read_text() for f in files]
    certificate_mails = [m for m in mails if code in m]
    assert len(certificate_mails) == 1
    assert f"To: {factory_manager.email}" in certificate_mails[0]
