"""Each service that makes something happen yields its event, to the organisations whose scope
reaches the object, once its transaction commits; the webhooks app turns a transaction's
events into deliveries with one INSERT."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from score_portal import events
from suppliers.merging import merge_factories
from suppliers.services import confirm_import, link_supplier, start_import
from tests.factories import FactoryFactory, mark_completed
from tests.suppliers.conftest import csv_upload
from tests.webhooks.conftest import subscribe
from training.models import Certificate
from training.services import certificates as certificate_services
from training.services import enrolment as training
from webhooks.models import Delivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hooks(
    world, brand, other_brand, provider, brand_admin, other_brand_admin, provider_admin, receiver
):
    """Brand A, brand B and the provider each subscribed to every event. The events the
    fixtures emitted wait for the test's transaction, which never commits (in production
    they went out at their own commits): they are not this test's."""
    for _sids, callback, _robust in connection.run_on_commit:
        if isinstance(callback, events._Announce):
            callback.sent = True
    return {
        "brand": subscribe(brand, brand_admin, receiver.url),
        "other_brand": subscribe(other_brand, other_brand_admin, receiver.url),
        "provider": subscribe(provider, provider_admin, receiver.url),
    }


def _heard(hooks, kind):
    """Which subscriptions got a delivery of ``kind`` (delivered to the receiver)."""
    found = Delivery.objects.filter(event=kind)
    assert all(d.status == Delivery.Status.DELIVERED for d in found), [
        (d.status, d.error) for d in found
    ]
    names = {s.pk: name for name, s in hooks.items()}
    return sorted(names[d.subscription_id] for d in found)


def _received(receiver, kind):
    return [r.json for r in receiver.received if r.json["event"] == kind]


def test_enrolment_created(
    world, hooks, brand_staff, module_1, receiver, django_capture_on_commit_callbacks
):
    factory = FactoryFactory(name="Second Mill")
    link_supplier(brand=world.partnership.partner, factory=factory, supplier_code="A-002")
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = training.enrol_factory(
            factory=factory,
            module=module_1,
            partnership=world.partnership,
            enrolled_by=brand_staff,
            cohort=world.cohort,
        )
    assert _heard(hooks, "enrolment.created") == ["brand", "provider"]
    body = _received(receiver, "enrolment.created")[0]
    assert body["object"]["type"] == "enrolment" and body["object"]["id"] == enrolment.pk
    assert body["object"]["url"].endswith(f"/training/enrolments/{enrolment.pk}/")
    assert body["object"]["api_url"].endswith(f"/api/v1/enrolments/{enrolment.pk}/")
    assert body["data"] == {
        "status": "pending",
        "factory_id": factory.pk,
        "module": "M1",
        "partnership_id": world.partnership.pk,
        "cohort_id": world.cohort.pk,
    }


def test_enrolment_confirmed(world, hooks, factory_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        training.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    assert _heard(hooks, "enrolment.confirmed") == ["brand", "provider"]


def test_enrolment_withdrawn(world, hooks, brand_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        training.withdraw_enrolment(enrolment=world.enrolment, actor=brand_staff, reason="Left")
    assert _heard(hooks, "enrolment.withdrawn") == ["brand", "provider"]


def test_visit_logged(hooks, confirmed, trainer, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        visit = training.record_visit(
            enrolment=confirmed, actor=trainer, kind="baseline", visited_on=datetime.date.today()
        )
    assert _heard(hooks, "visit.logged") == ["brand", "provider"]
    body = _received(receiver, "visit.logged")[0]
    assert body["object"]["id"] == visit.pk
    assert body["object"]["url"].endswith(f"/training/enrolments/{confirmed.pk}/")
    assert body["data"]["kind"] == "baseline" and body["data"]["enrolment_id"] == confirmed.pk


def test_enrolment_completed_then_certificate_issued(
    hooks, delivered, trainer, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        training.complete_enrolment(enrolment=delivered, actor=trainer)
    assert _heard(hooks, "enrolment.completed") == ["brand", "provider"]
    # The certificate is rendered after the commit (in-process here), then announced to the
    # funding brand only (certificates are reached that way).
    certificate = Certificate.objects.get(enrolment=delivered)
    assert certificate.status == Certificate.Status.ISSUED
    assert _heard(hooks, "certificate.issued") == ["brand"]
    body = _received(receiver, "certificate.issued")[0]
    assert body["data"]["code"] == certificate.code


def test_certificate_revoked(world, hooks, ilo_admin, django_capture_on_commit_callbacks):
    mark_completed(world.enrolment)
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_services.request_certificate(enrolment=world.enrolment)
    with django_capture_on_commit_callbacks(execute=True):
        certificate_services.revoke_certificate(
            certificate=certificate, actor=ilo_admin, reason="Issued in error"
        )
    assert _heard(hooks, "certificate.revoked") == ["brand"]


def test_import_finished(brand, brand_staff, hooks, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = start_import(
            brand=brand,
            user=brand_staff,
            upload=csv_upload("Name,Address,Country\nNew Mill,1 Road,TR\n"),
        )
    assert not Delivery.objects.filter(event="import.finished").exists()  # read, not written
    with django_capture_on_commit_callbacks(execute=True):
        confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert _heard(hooks, "import.finished") == ["brand"]
    body = _received(receiver, "import.finished")[0]
    assert body["object"]["id"] == supplier_import.pk
    assert body["data"]["status"] == "done" and body["data"]["rows_valid"] == 1


def test_factory_merged(
    world, brand, hooks, ilo_admin, receiver, django_capture_on_commit_callbacks
):
    copy = FactoryFactory(name=world.factory.name, address=world.factory.address)
    link_supplier(brand=brand, factory=copy, supplier_code="A-900")
    with django_capture_on_commit_callbacks(execute=True):
        record = merge_factories(
            survivor_id=world.factory.pk, merged_id=copy.pk, actor=ilo_admin, reason="Same mill"
        )
    assert _heard(hooks, "factory.merged") == ["brand"]
    body = _received(receiver, "factory.merged")[0]
    assert body["data"]["merge_id"] == record.pk
    assert body["data"]["merged_id"] == copy.pk
    assert body["object"] == {
        "type": "factory",
        "id": world.factory.pk,
        "api_url": None,
        "url": body["object"]["url"],
    }


def test_only_the_chosen_events_and_active_subscriptions(
    world, hooks, factory_manager, django_capture_on_commit_callbacks
):
    hooks["brand"].events = ["enrolment.withdrawn"]
    hooks["brand"].save()
    hooks["provider"].is_active = False
    hooks["provider"].save()
    with django_capture_on_commit_callbacks(execute=True):
        training.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    assert not Delivery.objects.exists()


def test_a_rolled_back_change_announces_nothing(world, hooks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                events.emit(
                    "enrolment.withdrawn",
                    organisation_ids=[world.partnership.partner_id],
                    object_type="enrolment",
                    object_id=world.enrolment.pk,
                )
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        events.emit(
            "enrolment.confirmed",
            organisation_ids=[world.partnership.partner_id],
            object_type="enrolment",
            object_id=world.enrolment.pk,
        )
    assert list(Delivery.objects.values_list("event", flat=True)) == ["enrolment.confirmed"]


def test_a_transaction_s_events_are_written_with_one_insert(
    world, hooks, django_capture_on_commit_callbacks
):
    partner_id = world.partnership.partner_id
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            for kind in ("enrolment.confirmed", "enrolment.completed", "enrolment.withdrawn"):
                events.emit(
                    kind,
                    organisation_ids=[partner_id],
                    object_type="enrolment",
                    object_id=world.enrolment.pk,
                )
        for callback in callbacks[:3]:
            callback()
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "webhooks_delivery"' in q["sql"]]
    assert len(inserts) == 1
    assert Delivery.objects.count() == 3


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="Unknown kind"):
        events.emit("enrolment.eaten", organisation_ids=[1], object_type="enrolment", object_id=1)
