"""Imports that a broker outage or a dead worker left behind: nothing is lost, nothing is
written twice, and the job sweep finishes them (score_portal.jobs.sweep)."""

from __future__ import annotations

import datetime

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from score_portal import jobs
from score_portal.tasks import sweep_jobs
from suppliers import services
from suppliers.importing import writing
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from suppliers.services import confirm_import
from suppliers.tasks import analyse_supplier_import, write_supplier_import
from tests.conftest import client_for
from tests.suppliers.conftest import fixture_file

pytestmark = pytest.mark.django_db
Status = SupplierImport.Status


@pytest.fixture(autouse=True)
def _through_the_worker(settings):
    """Every list goes to the worker (in-process here), as a large one would."""
    settings.SUPPLIER_IMPORT_INLINE_BYTES = 0
    settings.SUPPLIER_IMPORT_INLINE_ROWS = 0


def sweep_imports(**kwargs) -> int:
    return jobs.sweep(SupplierImport, **kwargs)


def minutes_later(minutes: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=minutes)


def stale() -> datetime.datetime:
    """A moment at which every claim made now is stale."""
    return minutes_later(django_settings.JOB_STALE_MINUTES + 1)


def test_an_upload_while_redis_is_down_is_read_once_it_is_back(
    brand, brand_staff, broker_down, django_capture_on_commit_callbacks
):
    client = client_for(brand_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("suppliers:import_new"),
            {
                "brand": brand.pk,
                "mode": "additions",
                "file": fixture_file("utf8.csv"),
                "encoding": "",
            },
        )
    # The upload completes (no error page) and the file is safe, waiting for a worker.
    assert response.status_code == 302
    supplier_import = SupplierImport.objects.get()
    assert response.url == supplier_import.get_absolute_url()
    assert supplier_import.status == Status.UPLOADED
    page = client.get(response.url)
    assert page.status_code == 200 and "Reading the file" in page.content.decode()

    # A sweep while Redis is still down queues nothing and loses nothing.
    assert sweep_imports(now=minutes_later(3)) == 0
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.UPLOADED

    broker_down()  # Redis is back (tasks run in-process here)
    assert sweep_imports(now=minutes_later(3)) == 1
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.PREVIEWED and supplier_import.rows_new == 3
    assert supplier_import.rows.count() == 3
    assert sweep_imports(now=minutes_later(5)) == 0  # twice is harmless


def test_a_confirm_while_redis_is_down_is_written_once_it_is_back(
    upload, brand_staff, django_capture_on_commit_callbacks, request
):
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = upload(fixture_file("utf8.csv"))
    back = request.getfixturevalue("broker_down")  # Redis goes down as the brand confirms
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(brand_staff).post(
            reverse("suppliers:import_confirm", args=[supplier_import.pk])
        )
    assert response.status_code == 302
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.CONFIRMED
    assert Factory.objects.count() == 0

    assert sweep_imports(now=minutes_later(3)) == 0  # still down: nothing lost
    back()
    assert sweep_imports(now=minutes_later(3)) == 1
    assert sweep_imports(now=minutes_later(5)) == 0
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.DONE
    assert Factory.objects.count() == 3 and BrandSupplier.objects.count() == 3


def test_a_fresh_upload_is_left_to_its_own_task(upload, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        supplier_import = upload(fixture_file("utf8.csv"))
    assert sweep_imports() == 0  # queued less than a minute ago
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.UPLOADED


def _worker_dies_while_reading(upload, django_capture_on_commit_callbacks, monkeypatch):
    """Read the file as a worker that is killed once half the preview is stored."""
    with django_capture_on_commit_callbacks(execute=False):
        supplier_import = upload(fixture_file("utf8.csv"))
    real = services.analyse_table

    def dies_midway(table, *, brand_id, writer, progress, parallel):
        SupplierImportRow.objects.create(
            supplier_import_id=supplier_import.pk, line=2, outcome="new", data={}
        )
        raise SystemExit("killed")  # not an Exception: nothing in the service catches it

    monkeypatch.setattr(services, "analyse_table", dies_midway)
    with pytest.raises(SystemExit):
        analyse_supplier_import(supplier_import.pk)
    monkeypatch.setattr(services, "analyse_table", real)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.ANALYSING
    return supplier_import


def test_an_import_whose_worker_died_while_reading_is_read_again_once(
    upload, django_capture_on_commit_callbacks, monkeypatch
):
    supplier_import = _worker_dies_while_reading(
        upload, django_capture_on_commit_callbacks, monkeypatch
    )
    # A redelivered task finds the import claimed, and a sweep leaves a fresh claim alone.
    assert analyse_supplier_import(supplier_import.pk) is False
    assert sweep_imports(now=minutes_later(3)) == 0
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.ANALYSING

    # Once the claim is stale the sweep hands the import to another worker, which reads it
    # from the start: the dead worker's rows are gone.
    assert sweep_imports(now=stale()) == 1
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.PREVIEWED
    assert supplier_import.attempts == 2
    assert supplier_import.rows.count() == supplier_import.rows_total == 3
    assert sorted(supplier_import.rows.values_list("line", flat=True)) == [2, 3, 4]
    assert sweep_imports(now=stale()) == 0


def test_an_import_that_kills_its_worker_three_times_fails_with_a_message(
    upload, brand_staff, django_capture_on_commit_callbacks, monkeypatch
):
    supplier_import = _worker_dies_while_reading(
        upload, django_capture_on_commit_callbacks, monkeypatch
    )
    # The import's tasks are not queued (the redelivery dies too); emails are.
    publish = jobs.publish
    monkeypatch.setattr(
        jobs, "publish", lambda task, *args: task.startswith("suppliers.") or publish(task, *args)
    )
    for attempt in (2, 3):
        SupplierImport.objects.filter(pk=supplier_import.pk).update(
            status=Status.ANALYSING,
            attempts=attempt,
            claimed_at=timezone.now() - datetime.timedelta(hours=1),
        )
        with django_capture_on_commit_callbacks(execute=True):
            sweep_imports()
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.FAILED
    assert "stopped 3 times" in supplier_import.error_message
    assert not supplier_import.rows.exists()
    assert [m.subject for m in mail.outbox] == ["Your supplier list utf8.csv could not be imported"]
    page = client_for(brand_staff).get(supplier_import.get_absolute_url())
    assert "stopped 3 times" in page.content.decode()


def test_an_import_whose_worker_died_while_writing_is_written_once(
    upload, brand_staff, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = upload(fixture_file("utf8.csv"))
    supplier_import.refresh_from_db()
    real = services.write_rows

    def dies_after_writing(supplier_import, *, progress):
        real(supplier_import, progress=progress)
        raise SystemExit("killed before the commit")

    monkeypatch.setattr(services, "write_rows", dies_after_writing)
    with django_capture_on_commit_callbacks(execute=False):
        confirm_import(supplier_import=supplier_import, user=brand_staff)
    with pytest.raises(SystemExit):
        write_supplier_import(supplier_import.pk)
    monkeypatch.setattr(services, "write_rows", real)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.IMPORTING
    assert Factory.objects.count() == 0  # the transaction died with the worker

    assert write_supplier_import(supplier_import.pk) is False  # a redelivery: still claimed
    assert sweep_imports(now=minutes_later(3)) == 0
    assert sweep_imports(now=stale()) == 1
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.DONE
    assert Factory.objects.count() == 3 and BrandSupplier.objects.count() == 3
    assert sweep_imports(now=stale()) == 0


def test_a_worker_that_lost_its_import_to_the_sweep_writes_nothing(
    upload, brand_staff, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = upload(fixture_file("utf8.csv"))
    supplier_import.refresh_from_db()
    real = writing.write_rows
    successor = timezone.now() + datetime.timedelta(seconds=5)

    def overtaken(supplier_import, *, progress):
        real(supplier_import, progress=progress)
        # Meanwhile the sweep took the import as stale and another worker claimed it.
        SupplierImport.objects.filter(pk=supplier_import.pk).update(claimed_at=successor)

    monkeypatch.setattr(services, "write_rows", overtaken)
    with django_capture_on_commit_callbacks(execute=False):
        confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert write_supplier_import(supplier_import.pk) is False
    assert Factory.objects.count() == 0 and BrandSupplier.objects.count() == 0
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.IMPORTING  # the successor's to finish


def test_a_read_stopped_by_the_time_limit_fails_with_advice(
    upload, django_capture_on_commit_callbacks, monkeypatch
):
    def too_slow(table, *, brand_id, writer, progress, parallel):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "analyse_table", too_slow)
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = upload(fixture_file("utf8.csv"))
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.FAILED
    assert "split the list into smaller files" in supplier_import.error_message
    assert not supplier_import.rows.exists()


def test_the_worker_stops_itself_before_the_sweep_takes_its_import():
    stale_seconds = django_settings.JOB_STALE_MINUTES * 60
    for task in (analyse_supplier_import, write_supplier_import):
        assert task.soft_time_limit < task.time_limit < stale_seconds
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert sweep_jobs.name in schedule
