"""``manage.py load_demo``: a coherent demo world, one sign-in per role, safe to rerun."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from partners.models import Membership, Partner, Partnership
from score_portal.demo import DEFAULT_PASSWORD
from score_portal.models import User
from suppliers.models import BrandSupplier, Factory, FactoryManager, os_id_validator
from training.models import (
    Cohort,
    ConsultingVisit,
    Enrolment,
    KPIReading,
    Participant,
    TrainerCertification,
)

pytestmark = pytest.mark.django_db

# email -> (home template, texts the home page must show)
DEMO_USERS = {
    "ilo.admin@score-demo.org": (
        "home/ilo.html",
        ["International Labour Organization", "SGS global SCORE licence"],
    ),
    "brand@inditex.score-demo.org": (
        "home/brand.html",
        ["Inditex", "Inditex SCORE pilot in Türkiye and China", "东莞华美制衣有限公司"],
    ),
    "staff@eti.score-demo.org": (
        "home/brand.html",
        ["Ethical Trading Initiative", "ঢাকা নিটওয়্যার লিমিটেড"],
    ),
    "coordinator@tuv.score-demo.org": (
        "home/provider.html",
        ["TÜV Rheinland", "Dongguan", "Waiting for a cohort", "宁波海天纺织有限公司"],
    ),
    # The trainer's home names their cohorts and certifications, not their provider.
    # The trainer reads in the language stored on them (zh-hans), whatever the browser says.
    "trainer@tuv.score-demo.org": ("home/trainer.html", ["Dongguan", "工作场所合作"]),
    "manager@huamei.score-demo.org": ("home/factory.html", ["东莞华美制衣有限公司"]),
    "manager@ozdemir.score-demo.org": (
        "home/factory.html",
        ["Özdemir Tekstil Sanayi ve Ticaret A.Ş."],
    ),
}

COUNTED = [
    User,
    EmailAddress,
    Group,
    Partner,
    Membership,
    Partnership,
    Factory,
    FactoryManager,
    BrandSupplier,
    TrainerCertification,
    Cohort,
    Enrolment,
    Participant,
    ConsultingVisit,
    KPIReading,
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The command hashes seven passwords per run; the real hasher would make these tests slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_command_prints_every_demo_user_and_the_url():
    output = load_demo()
    for email in DEMO_USERS:
        assert email in output
    assert output.count(DEFAULT_PASSWORD) == len(DEMO_USERS)
    assert "TÜV Rheinland" in output
    assert "东莞华美制衣有限公司" in output
    assert (
        output.rstrip()
        .splitlines()[-1]
        .endswith("http://127.0.0.1:8000/ and sign in with any of these accounts.")
    )


def test_second_run_creates_nothing():
    load_demo()
    first = counts()
    assert first["User"] == 7
    assert first["Partner"] == 5
    assert first["Factory"] == 8
    assert first["BrandSupplier"] == 9
    assert first["Enrolment"] == 5
    assert first["Participant"] == 4
    load_demo()
    assert counts() == first


def test_second_run_with_another_password_changes_the_password_only():
    load_demo()
    first = counts()
    output = load_demo("--password", "another-demo-secret")
    assert "another-demo-secret" in output
    assert counts() == first
    assert Client().login(email="brand@inditex.score-demo.org", password="another-demo-secret")
    assert not Client().login(email="brand@inditex.score-demo.org", password=DEFAULT_PASSWORD)


@pytest.mark.parametrize("email", list(DEMO_USERS))
def test_each_demo_user_signs_in_and_sees_their_home(email):
    load_demo()
    template, texts = DEMO_USERS[email]
    client = Client()
    assert client.login(email=email, password=DEFAULT_PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == template
    for text in texts:
        assert text in response.text


def test_sign_in_through_the_login_form_works(client):
    # Mandatory email verification: this fails unless the demo address is verified.
    load_demo()
    response = client.post(
        reverse("account_login"),
        {"login": "manager@ozdemir.score-demo.org", "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_ilo_admin_is_staff_not_superuser_and_can_use_the_admin():
    load_demo()
    admin = User.objects.get(email="ilo.admin@score-demo.org")
    assert admin.is_staff
    assert not admin.is_superuser
    client = Client()
    client.force_login(admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert reverse("admin:partners_partnership_changelist") in response.text


def test_ozdemir_is_on_two_lists_with_two_codes():
    load_demo()
    ozdemir = Factory.objects.get(name="Özdemir Tekstil Sanayi ve Ticaret A.Ş.")
    codes = dict(ozdemir.brand_links.values_list("brand__name", "supplier_code"))
    assert codes == {"Inditex": "IDX-TR-0001", "Ethical Trading Initiative": "ETI-TR-058"}


def test_the_world_is_coherent():
    load_demo()
    for os_id in Factory.objects.values_list("os_id", flat=True):
        os_id_validator(os_id)
    assert set(Factory.objects.values_list("language", flat=True)) == {"zh-hans", "tr", "vi", "bn"}

    assert list(Partnership.objects.pending_review().values_list("title", flat=True)) == [
        "SGS global SCORE licence"
    ]
    pilot = Partnership.objects.get(title="Inditex SCORE pilot in Türkiye and China")
    assert pilot.status == Partnership.Status.APPROVED
    assert sorted(pilot.modules.values_list("code", flat=True)) == ["M1", "M2", "M5"]
    assert pilot.start_date <= pilot.end_date

    trainer = User.objects.get(email="trainer@tuv.score-demo.org")
    assert sorted(trainer.certifications.values_list("module__code", flat=True)) == ["M1", "M2"]
    cohort = Cohort.objects.get()
    assert (cohort.trainer, cohort.venue_city, cohort.language) == (trainer, "Dongguan", "zh-hans")

    statuses = dict(
        Enrolment.objects.filter(module__code="M1").values_list("factory__name_latin", "status")
    )
    assert statuses == {
        "Dongguan Huamei Garment Co., Ltd.": "in_progress",
        "Ningbo Haitian Textile Co., Ltd.": "confirmed",
        "Ozdemir Textile Industry and Trade Inc.": "pending",
        "Dhaka Knitwear Ltd.": "pending",
    }
    # Module 2 for Ningbo, without a cohort: it waits in TÜV Rheinland's placing queue.
    waiting = Enrolment.objects.get(module__code="M2")
    assert (waiting.factory.name_latin, waiting.cohort) == (
        "Ningbo Haitian Textile Co., Ltd.",
        None,
    )
    huamei = Enrolment.objects.get(factory__os_id="CN2019067X1K87E")
    assert huamei.cohort == cohort
    assert huamei.partnership == pilot
    people = list(huamei.participants.values_list("role", "gender"))
    assert sorted(people) == [
        ("manager", "man"),
        ("manager", "woman"),
        ("worker", "man"),
        ("worker", "woman"),
    ]
    assert huamei.visits.get().kind == ConsultingVisit.Kind.BASELINE
    assert sorted(huamei.kpi_readings.values_list("kpi__code", flat=True)) == [
        "absenteeism",
        "suggestions-implemented",
    ]
    dhaka = Enrolment.objects.get(factory__os_id="BD2019156D3K8WR")
    assert dhaka.partnership.partner.name == "Ethical Trading Initiative"


def test_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        load_demo()
    assert not User.objects.filter(email__endswith="score-demo.org").exists()


def test_force_runs_in_production(settings):
    settings.PRODUCTION = True
    output = load_demo("--force")
    assert "ilo.admin@score-demo.org" in output
    assert User.objects.filter(email__endswith="score-demo.org").count() == 7
