"""A worker killed while it reads a supplier list: the import is neither stuck nor doubled
(real worker, Redis, PostgreSQL; run by .ci/run with CELERY_LIVE_WORKER=1)."""

from __future__ import annotations

import datetime
import signal
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from score_portal import jobs
from suppliers import services
from suppliers.models import SupplierImport
from suppliers.tasks import analyse_supplier_import
from tests.conftest import send_to_queue, wait_for, worker_running

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROWS = 60_000  # a few seconds of reading: long enough to kill the worker in the middle


def test_an_import_whose_worker_is_killed_mid_read_is_read_once_by_the_sweep(
    brand, brand_staff, tmp_path, monkeypatch, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPLIER_IMPORT_INLINE_BYTES = 0
    # The import's tasks are not queued (published by hand below); emails are.
    publish = jobs.publish
    monkeypatch.setattr(
        jobs, "publish", lambda task, *args: task.startswith("suppliers.") or publish(task, *args)
    )
    queue = f"score-killed-import-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    with worker_running(log, queue=queue, MEDIA_ROOT=str(settings.MEDIA_ROOT)) as worker:
        lines = ["Factory name,Address,Country"] + [
            f"Factory {n},{n} Industrial Road,VN" for n in range(ROWS)
        ]
        upload = SimpleUploadedFile("big.csv", "\n".join(lines).encode())
        supplier_import = services.start_import(brand=brand, user=brand_staff, upload=upload)
        send_to_queue(analyse_supplier_import, queue, supplier_import.pk)  # the sweep: in-process

        def reading_midway():
            supplier_import.refresh_from_db()
            return supplier_import.status == SupplierImport.Status.ANALYSING and (
                0 < supplier_import.rows.count() < ROWS
            )

        assert wait_for(reading_midway, timeout=120, interval=0.05), log.read_text()[-3000:]
        worker.send_signal(signal.SIGKILL)  # killed mid-read: the message is never acked
        worker.wait(30)

    # Not lost, not finished: still claimed by the dead worker, with a partial preview.
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.ANALYSING
    assert supplier_import.rows.count() < ROWS
    # While the claim is fresh, neither a redelivered task nor the sweep touches it...
    assert analyse_supplier_import(supplier_import.pk) is False
    monkeypatch.undo()  # the sweep queues for real (in-process here)
    assert jobs.sweep(SupplierImport) == 0
    # ...and once it is stale, the sweep hands it to another worker, which reads it whole.
    stale = timezone.now() + datetime.timedelta(minutes=settings.JOB_STALE_MINUTES + 1)
    assert jobs.sweep(SupplierImport, now=stale) == 1
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.PREVIEWED
    assert supplier_import.rows_new == supplier_import.rows_total == ROWS
    assert supplier_import.rows.count() == ROWS
    assert jobs.sweep(SupplierImport, now=stale) == 0
