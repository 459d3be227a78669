"""Enrolments through the API: created with the page's service and refusals, withdrawn,
progress and KPI readings read under the page's rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from partners.models import Partnership
from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory
from training.models import Cohort, Enrolment, EnrolmentEvent, KPIDefinition, Module
from training.services import enrolment as enrolment_services
from training.services.kpis import record_kpi_reading, set_kpi_consent

pytestmark = pytest.mark.django_db


def _body(factory, module, partnership, **extra):
    return {"factory": factory.pk, "module": module.pk, "partnership": partnership.pk, **extra}


def test_create_enrols_through_the_service(world, api, brand_admin, module_1):
    factory = FactoryFactory(country="CN")
    link_supplier(brand=world.partnership.partner, factory=factory, supplier_code="N-1")
    mail.outbox.clear()
    response = api.post("/api/v1/enrolments/", _body(factory, module_1, world.partnership))
    assert response.status_code == 201, response.content
    enrolment = Enrolment.objects.get(pk=response.json()["id"])
    assert enrolment.status == "pending" and enrolment.factory == factory
    # In the key creator's name, as the audit trail shows it.
    assert enrolment.enrolled_by == brand_admin
    assert EnrolmentEvent.objects.get(enrolment=enrolment).actor == brand_admin
    assert response.json()["module"]["code"] == "M1"


def _page_refusal(brand_staff, brand, factory, module, partnership) -> str:
    response = client_for(brand_staff).post(
        reverse("training:enrol") + f"?brand={brand.pk}",
        {
            "brand": brand.pk,
            "factories": [factory.pk],
            "module": module.pk,
            "partnership": partnership.pk,
            "cohort": "",
        },
    )
    assert response.status_code == 200, response.content[:2000]
    [result] = response.context["results"]
    assert not result.enrolled
    return result.refusal


def _api_refusal(api, factory, module, partnership) -> dict:
    response = api.post("/api/v1/enrolments/", _body(factory, module, partnership))
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert error["code"] == "refused"
    return error


@pytest.mark.parametrize(
    "case", ["quota", "prerequisite", "already_enrolled", "module_not_covered"]
)
def test_refusals_equal_the_pages(world, api, brand, brand_staff, module_1, case):
    factory = FactoryFactory(country="CN")
    link_supplier(brand=brand, factory=factory, supplier_code="N-2")
    module = module_1
    field = "partnership"
    if case == "quota":
        Partnership.objects.filter(pk=world.partnership.pk).update(factory_quota=1)
    elif case == "prerequisite":
        module = Module.objects.get(code="M2")
        world.partnership.modules.add(module)
        field = "module"
    elif case == "already_enrolled":
        factory = world.factory
        field = "module"
    elif case == "module_not_covered":
        module = Module.objects.get(code="M3")
    page = _page_refusal(brand_staff, brand, factory, module, world.partnership)
    error = _api_refusal(api, factory, module, world.partnership)
    assert error["message"] == page
    assert error["field"] == field
    assert Enrolment.objects.count() == 2  # the world's two, nothing more


def test_a_supplier_that_left_the_list_is_refused(world, api, brand, module_1):
    from suppliers.models import BrandSupplier

    factory = FactoryFactory(country="CN")
    link = link_supplier(brand=brand, factory=factory, supplier_code="N-3")
    BrandSupplier.objects.filter(pk=link.pk).update(ended_at=datetime.datetime.now(datetime.UTC))
    error = _api_refusal(api, factory, module_1, world.partnership)
    assert error == {"field": "factory", "code": "refused", "message": "Not on your supplier list."}


def test_another_brands_objects_are_not_choices(world, api, module_1):
    response = api.post(
        "/api/v1/enrolments/", _body(world.other_factory, module_1, world.other_partnership)
    )
    assert response.status_code == 400
    assert {e["field"]: e["code"] for e in response.json()["errors"]} == {
        "factory": "does_not_exist",
        "partnership": "does_not_exist",
    }


def test_a_providers_key_cannot_enrol(world, provider, provider_admin, module_1):
    from api.services import create_key
    from tests.api.conftest import key_client

    _key, secret = create_key(
        organisation=provider, name="TMS", access="acting", actor=provider_admin
    )
    response = key_client(secret).post(
        "/api/v1/enrolments/", _body(world.factory, module_1, world.partnership)
    )
    assert response.status_code == 403


def test_withdraw(world, api, brand_admin):
    url = f"/api/v1/enrolments/{world.enrolment.pk}/withdraw/"
    missing = api.post(url, {})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "reason"
    response = api.post(url, {"reason": "The factory closed."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    world.enrolment.refresh_from_db()
    assert world.enrolment.withdrawal_reason == "The factory closed."
    again = api.post(url, {"reason": "Twice"})
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == "refused"


def test_progress(world, api, factory_manager):
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    enrolment_services.name_participants(
        enrolment=world.enrolment,
        actor=factory_manager,
        participants=[
            {"name": "Li Wei", "role": "manager", "gender": "man"},
            {"name": "Wang Fang", "role": "manager", "gender": "woman"},
            {"name": "Chen Jing", "role": "worker", "gender": "woman"},
            {"name": "Zhao Min", "role": "worker", "gender": "woman"},
        ],
    )
    response = api.get(f"/api/v1/enrolments/{world.enrolment.pk}/progress/")
    assert response.status_code == 200
    data = response.json()
    assert data["participants"] == {
        "total": 4,
        "by_role": {"manager": 2, "worker": 2},
        "by_gender": {"man": 1, "woman": 3},
    }
    assert [s["key"] for s in data["steps"]][:3] == ["baseline", "classroom", "plan"]
    assert data["steps"][-1]["key"] == "completed" and not data["steps"][-1]["done"]
    assert data["visits"] == [] and data["percent"] == 0


def test_kpi_readings_only_with_the_factorys_consent(world, api, factory_manager):
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    today = datetime.date.today()
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=today - datetime.timedelta(days=20),
        classroom_end=today - datetime.timedelta(days=19),
    )
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    enrolment = Enrolment.objects.select_related("cohort", "module").get(pk=world.enrolment.pk)
    kpi = KPIDefinition.objects.get(code="absenteeism")
    record_kpi_reading(
        enrolment=enrolment,
        actor=factory_manager,
        kpi=kpi,
        kind="baseline",
        value=Decimal("8"),
        measured_on=today - datetime.timedelta(days=21),
    )
    url = f"/api/v1/enrolments/{world.enrolment.pk}/kpi-readings/"
    refused = api.get(url)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "permission_denied"
    set_kpi_consent(enrolment=enrolment, actor=factory_manager, shared=True)
    readings = api.get(url).json()
    assert [(r["kpi"], r["kind"], r["value"]) for r in readings] == [
        ("absenteeism", "baseline", "8.000")
    ]
