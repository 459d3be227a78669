"""Conventions: pages, errors, times, throttling, Idempotency-Key."""

from __future__ import annotations

import pytest

from api.models import IdempotentRequest
from suppliers.services import link_supplier
from tests.api.conftest import key_client
from tests.factories import FactoryFactory
from training.models import Enrolment, Module
from training.services import enrol_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_suppliers(brand):
    for n in range(120):
        link_supplier(brand=brand, factory=FactoryFactory(), supplier_code=f"S-{n:03}")


def test_pagination_shape_default_and_max(many_suppliers, api):
    page = api.get("/api/v1/suppliers/").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 120 and len(page["results"]) == 50 and page["previous"] is None
    assert "page=2" in page["next"]
    big = api.get("/api/v1/suppliers/?page_size=1000").json()
    assert len(big["results"]) == 100
    last = api.get("/api/v1/suppliers/?page_size=100&page=2").json()
    assert len(last["results"]) == 20 and last["next"] is None


def test_a_page_past_the_end_is_404_in_the_error_shape(many_suppliers, api):
    response = api.get("/api/v1/suppliers/?page=99")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_list_queries_do_not_grow_with_rows(brand, api, django_assert_max_num_queries):
    for n in range(3):
        link_supplier(brand=brand, factory=FactoryFactory(), supplier_code=f"Q-{n}")
    with django_assert_max_num_queries(8) as few:
        api.get("/api/v1/suppliers/")
    for n in range(30):
        link_supplier(brand=brand, factory=FactoryFactory(), supplier_code=f"R-{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        api.get("/api/v1/suppliers/")


def test_the_enrolment_list_loads_what_it_returns_in_queries_that_do_not_grow(
    world, brand, module_1, api, django_assert_max_num_queries
):
    """The list loads only its serializer's columns (``columns_of``): a field it returns but
    did not load would cost a query per row."""
    with django_assert_max_num_queries(8) as few:
        first = api.get("/api/v1/enrolments/").json()["results"]
    for n in range(6):
        factory = FactoryFactory(name=f"Mill {n}")
        link_supplier(brand=brand, factory=factory, supplier_code=f"E-{n}")
        enrol_factory(
            factory=factory, module=module_1, partnership=world.partnership, enrolled_by=None
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = api.get("/api/v1/enrolments/").json()["results"]
    assert len(rows) == len(first) + 6
    mill = next(row for row in rows if row["factory"]["name"] == "Mill 0")
    assert mill["module"]["code"] == module_1.code and mill["partnership"] == (world.partnership.pk)
    assert set(mill) == {
        "id", "factory", "module", "partnership", "cohort", "status", "created_at",
        "status_changed_at", "placed_at", "completed_at", "withdrawal_reason",
    }  # fmt: skip


def test_ordering_and_filters(world, brand, api):
    link_supplier(
        brand=brand, factory=FactoryFactory(name="Zeta Mill", country="TR"), supplier_code="Z"
    )
    names = [
        s["factory"]["name"]
        for s in api.get("/api/v1/suppliers/?ordering=-factory__name").json()["results"]
    ]
    assert names == ["东莞华美制衣有限公司", "Zeta Mill"]
    turkish = api.get("/api/v1/suppliers/?country=TR").json()["results"]
    assert [s["supplier_code"] for s in turkish] == ["Z"]
    found = api.get("/api/v1/suppliers/?q=Huamei").json()["results"]
    assert [s["factory"]["id"] for s in found] == [world.factory.pk]
    later = api.get("/api/v1/suppliers/?modified_since=2999-01-01T00:00:00Z").json()
    assert later["count"] == 0
    assert api.get("/api/v1/enrolments/?status=pending").json()["count"] == 1
    assert api.get("/api/v1/enrolments/?status=completed").json()["count"] == 0
    assert api.get(f"/api/v1/enrolments/?factory={world.factory.pk}").json()["count"] == 1


def test_error_shape_names_the_field(world, api):
    response = api.get("/api/v1/enrolments/?status=nonsense&modified_since=yesterday")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {e["field"] for e in errors} == {"status", "modified_since"}
    assert all(set(e) == {"field", "code", "message"} for e in errors)
    response = api.post("/api/v1/enrolments/", {"module": "x"})
    assert response.status_code == 400
    fields = {e["field"]: e["code"] for e in response.json()["errors"]}
    assert fields == {"factory": "required", "module": "incorrect_type", "partnership": "required"}


def test_times_are_utc_iso_8601(world, api, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    enrolment = api.get(f"/api/v1/enrolments/{world.enrolment.pk}/").json()
    assert enrolment["created_at"].endswith("Z")


def test_throttled_with_retry_after(world, api, settings):
    settings.API_RATE_READ = 2
    assert api.get("/api/v1/enrolments/").status_code == 200
    assert api.get("/api/v1/enrolments/").status_code == 200
    response = api.get("/api/v1/enrolments/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["errors"][0]["code"] == "throttled"


def test_throttling_is_per_key(world, api, other_key, settings):
    settings.API_RATE_READ = 1
    assert api.get("/api/v1/enrolments/").status_code == 200
    assert api.get("/api/v1/enrolments/").status_code == 429
    assert key_client(other_key[1]).get("/api/v1/enrolments/").status_code == 200


def _second_module():
    """Module 2: its prerequisite, Module 1, is the world's enrolment."""
    return Module.objects.get(code="M2")


def test_idempotency_key_replays_the_first_answer(world, api):
    module = _second_module()
    world.partnership.modules.add(module)
    body = {"factory": world.factory.pk, "module": module.pk, "partnership": world.partnership.pk}
    first = api.post("/api/v1/enrolments/", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 201, first.content
    again = api.post("/api/v1/enrolments/", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Enrolment.objects.filter(factory=world.factory, module=module).count() == 1


def test_idempotency_key_with_another_body_is_422(world, api):
    module = _second_module()
    world.partnership.modules.add(module)
    body = {"factory": world.factory.pk, "module": module.pk, "partnership": world.partnership.pk}
    assert api.post("/api/v1/enrolments/", body, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    other = api.post(
        "/api/v1/enrolments/", {**body, "placement_reason": "x"}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"


def test_without_idempotency_key_a_retry_is_refused_by_the_rules(world, api):
    module = _second_module()
    world.partnership.modules.add(module)
    body = {"factory": world.factory.pk, "module": module.pk, "partnership": world.partnership.pk}
    assert api.post("/api/v1/enrolments/", body).status_code == 201
    again = api.post("/api/v1/enrolments/", body)
    assert again.status_code == 400
    assert Enrolment.objects.filter(factory=world.factory, module=module).count() == 1


def test_idempotency_keys_are_per_api_key(world, api, other_key):
    module = _second_module()
    world.partnership.modules.add(module)
    body = {"factory": world.factory.pk, "module": module.pk, "partnership": world.partnership.pk}
    assert api.post("/api/v1/enrolments/", body, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    # Brand B's key with the same Idempotency-Key is a request of its own (refused: not its
    # supplier), never brand A's stored answer.
    response = key_client(other_key[1]).post(
        "/api/v1/enrolments/", body, HTTP_IDEMPOTENCY_KEY="same"
    )
    assert response.status_code == 400
    # A refusal is not stored (as a request that failed validation at Stripe): a retry runs.
    [stored] = IdempotentRequest.objects.filter(key="same")
    assert (
        stored.status_code == 201 and stored.api_key.organisation_id == world.partnership.partner_id
    )


def test_a_retry_while_the_first_runs_is_409_and_old_keys_are_forgotten(acting_key):
    import datetime

    from django.utils import timezone

    from api import services

    key, _secret = acting_key
    assert services.reserve(key=key, idempotency_key="r", fingerprint="f") is None
    with pytest.raises(services.IdempotencyConflict) as running:
        services.reserve(key=key, idempotency_key="r", fingerprint="f")
    assert running.value.status == 409
    services.remember(key=key, idempotency_key="r", status=201, body={"id": 1})
    assert services.reserve(key=key, idempotency_key="r", fingerprint="f") == (201, {"id": 1})
    IdempotentRequest.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert services.reserve(key=key, idempotency_key="r", fingerprint="f") is None


def test_rows_represented_by_a_plan_equal_drfs_own_walk(world, brand, api, monkeypatch):
    """``RowsAtSpeed``: the list endpoints' fast representation is DRF's, field for field
    (nulls, nested objects, times in UTC, countries), and a serializer the plan cannot
    follow (a method field) keeps DRF's walk."""
    from api import serializers, serializers_catalogue

    link_supplier(
        brand=brand,
        factory=FactoryFactory(name="Özdemir Örme", country="TR", workers_total=None),
        supplier_code="",
    )
    paths = ["/api/v1/suppliers/?include_ended=true", "/api/v1/enrolments/"]
    for cls in (serializers.SupplierSerializer, serializers.EnrolmentSerializer):
        assert serializers._plan_of(cls) is not None
    assert serializers._plan_of(serializers_catalogue.FactoryWithNamesSerializer) is None
    fast = [api.get(path).json() for path in paths]
    monkeypatch.setattr(serializers, "_plan_of", lambda cls: None)
    walked = [api.get(path).json() for path in paths]
    assert fast == walked
    assert len(fast[0]["results"]) == 2 and fast[1]["results"]
