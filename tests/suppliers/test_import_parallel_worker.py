"""A long list read by a real Celery worker of the prefork pool, as in production: its
process is daemonic, which the standard library's multiprocessing refuses children; the
helper that prepares the rows (``suppliers.importing.preparing``, forked with billiard) runs
there all the same (real worker, Redis, PostgreSQL; run by .ci/run with CELERY_LIVE_WORKER=1)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from score_portal import jobs
from suppliers import services
from suppliers.models import SupplierImport
from suppliers.tasks import analyse_supplier_import
from tests.conftest import send_to_queue, wait_for, worker_running

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROWS = 3_000


def test_a_prefork_worker_reads_a_long_list_with_a_helper_process(
    brand, brand_staff, tmp_path, monkeypatch, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPLIER_IMPORT_INLINE_BYTES = 0
    publish = jobs.publish  # the import's task is sent by hand below, to the test's queue
    monkeypatch.setattr(
        jobs, "publish", lambda task, *args: task.startswith("suppliers.") or publish(task, *args)
    )
    queue = f"score-parallel-import-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    lines = ["Factory name,Address,Country,Supplier code"] + [
        f"Factory {n},{n} Industrial Road,VN,F-{n}" for n in range(ROWS)
    ]
    lines.append("Factory 7,7 Industrial Road,VN,F-7")  # a repeat: marked once all are in
    upload = SimpleUploadedFile("long.csv", "\n".join(lines).encode())
    supplier_import = services.start_import(brand=brand, user=brand_staff, upload=upload)
    with worker_running(
        log,
        queue=queue,
        pool="prefork",
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        SUPPLIER_IMPORT_PARALLEL_BYTES="0",  # every list is long enough for the helper
    ):
        send_to_queue(analyse_supplier_import, queue, supplier_import.pk)

        def read():
            supplier_import.refresh_from_db()
            return supplier_import.status != SupplierImport.Status.UPLOADED and (
                supplier_import.status != SupplierImport.Status.ANALYSING
            )

        assert wait_for(read, timeout=120, interval=0.1), log.read_text()[-3000:]
    output = log.read_text()
    assert supplier_import.status == SupplierImport.Status.PREVIEWED, output[-3000:]
    assert (supplier_import.rows_total, supplier_import.rows_new) == (ROWS + 1, ROWS)
    assert supplier_import.rows_unchanged == 1
    assert "daemonic processes are not allowed" not in output
    helper = re.search(r"Rows prepared by helper process (\d+)", output)
    assert helper is not None, output[-3000:]
    assert "ForkPoolWorker" in output  # the prefork pool's child ran the task
