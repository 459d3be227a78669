import datetime

import pytest
from django.urls import reverse

from suppliers.services import add_factory_manager
from tests.conftest import client_for
from tests.factories import FactoryFactory, UserFactory
from training.models import Cohort, Participant
from training.selectors import CURRENT_COHORT_DAYS, HOME_COHORTS

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_gets_the_landing_page(db):
    response = client_for(None).get("/")
    assert response.status_code == 200
    assert reverse("account_login") in response.text
    assert "Programme overview" not in response.text


def test_brand_home_shows_own_portfolio(world, brand_staff):
    response = client_for(brand_staff).get("/")
    assert response.templates[0].name == "home/brand.html"
    page = response.text
    assert "Brand A" in page
    assert "Brand A pilot" in page
    assert world.factory.name in page
    assert "brand-a-suppliers.csv" in page
    assert "Brand B programme" not in page
    assert world.other_factory.name not in page
    assert response.context["supplier_count"] == 1


def test_factory_manager_home_shows_own_factory(world, factory_manager):
    response = client_for(factory_manager).get("/")
    assert response.templates[0].name == "home/factory.html"
    assert world.factory.name in response.text
    assert "Workplace Cooperation" in response.text
    assert world.other_factory.name not in response.text


def test_factory_manager_home_shows_a_factory_without_enrolments(world):
    quiet = FactoryFactory(name="Saigon Knit Co.", country="VN")
    manager = UserFactory(email="manager@saigon-knit.example.org")
    add_factory_manager(factory=quiet, user=manager)
    response = client_for(manager).get("/")
    assert response.templates[0].name == "home/factory.html"
    assert quiet.name in response.text
    assert "No enrolment yet." in response.text
    assert world.factory.name not in response.text


def test_factory_home_keeps_enrolments_of_cohorts_the_manager_trains(world, factory_manager):
    # visible_to's trainer branch, for a manager who trains a cohort without a membership.
    world.cohort.__class__.objects.filter(pk=world.cohort.pk).update(trainer=factory_manager)
    world.other_enrolment.__class__.objects.filter(pk=world.other_enrolment.pk).update(
        cohort=world.cohort
    )
    response = client_for(factory_manager).get("/")
    shown = {item["enrolment"].pk for item in response.context["enrolments"]}
    assert shown == {world.enrolment.pk, world.other_enrolment.pk}


def test_trainer_home_shows_own_cohorts(world, trainer):
    response = client_for(trainer).get("/")
    assert response.templates[0].name == "home/trainer.html"
    assert [c.pk for c in response.context["cohorts"]] == [world.cohort.pk]
    assert "Dongguan" in response.text
    assert "Workplace Cooperation" in response.text  # the certification


def _cohort_like(cohort, *, starts_in_days: int, city: str):
    """A copy of ``cohort`` (same module, provider, trainer) on other dates."""
    start = datetime.date.today() + datetime.timedelta(days=starts_in_days)
    return Cohort.objects.create(
        module=cohort.module,
        provider=cohort.provider,
        trainer=cohort.trainer,
        venue_city=city,
        venue_country="CN",
        language="zh-hans",
        classroom_start=start,
        classroom_end=start + datetime.timedelta(days=1),
    )


@pytest.mark.parametrize("persona", ["trainer", "provider_staff"])
def test_homes_list_current_cohorts_and_point_to_the_rest(world, persona, request):
    """Classroom under way or ahead (soonest first), then ended within CURRENT_COHORT_DAYS
    (latest first): on the home page; older ones only on the paginated cohort list."""
    user = request.getfixturevalue(persona)
    recent = _cohort_like(world.cohort, starts_in_days=-(CURRENT_COHORT_DAYS - 10), city="Recent")
    latest = _cohort_like(world.cohort, starts_in_days=-30, city="Latest")
    ongoing = _cohort_like(world.cohort, starts_in_days=0, city="Ongoing")
    old = _cohort_like(world.cohort, starts_in_days=-(CURRENT_COHORT_DAYS + 10), city="Old")
    response = client_for(user).get("/")
    assert [c.pk for c in response.context["cohorts"]] == [
        ongoing.pk,
        world.cohort.pk,
        latest.pk,
        recent.pk,
    ]
    assert "Recent" in response.text and "Old" not in response.text
    assert reverse("training:cohort_list") in response.text
    listed = client_for(user).get(reverse("training:cohort_list"))
    assert old.pk in [c.pk for c in listed.context["page"].object_list]


def test_home_lists_at_most_a_page_of_current_cohorts(world, trainer):
    _cohort_like(world.cohort, starts_in_days=-30, city="Ended")
    for n in range(HOME_COHORTS + 5):
        _cohort_like(world.cohort, starts_in_days=30 + n, city=f"City {n}")
    cohorts = client_for(trainer).get("/").context["cohorts"]
    assert len(cohorts) == HOME_COHORTS
    assert cohorts[0].pk == world.cohort.pk  # the soonest (in 20 days)
    assert "Ended" not in [c.venue_city for c in cohorts]  # what is ahead comes first


def test_home_without_current_cohorts_says_so(world, trainer):
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=datetime.date(2020, 1, 6), classroom_end=datetime.date(2020, 1, 7)
    )
    response = client_for(trainer).get("/")
    assert response.context["cohorts"] == []
    assert "No current cohort." in response.text


def test_provider_staff_home_shows_provider_cohorts(world, provider_staff):
    response = client_for(provider_staff).get("/")
    assert response.templates[0].name == "home/provider.html"
    assert "Provider P" in response.text
    assert [c.pk for c in response.context["cohorts"]] == [world.cohort.pk]


def test_ilo_home_shows_programme_and_review_queue(world, ilo_admin, brand):
    from tests.factories import PartnershipFactory

    PartnershipFactory(partner=brand, title="Awaiting review", status="submitted")
    Participant.objects.create(
        enrolment=world.enrolment, name="李娜", role="worker", gender="woman"
    )
    response = client_for(ilo_admin).get("/")
    assert response.templates[0].name == "home/ilo.html"
    assert [p.title for p in response.context["pending_partnerships"]] == ["Awaiting review"]
    assert {p.title for p in response.context["active_partnerships"]} == {
        "Brand A pilot",
        "Brand B programme",
    }
    assert response.context["participants"] == {"total": 1, "women": 1, "workers": 1}
    assert response.context["status_counts"]["pending"] == 2


def test_person_without_organisation_is_told_what_to_do(db):
    response = client_for(UserFactory()).get("/")
    assert response.templates[0].name == "home/none.html"


def test_navigation_follows_reach(world, factory_manager, brand_staff):
    manager_nav = [i["url"] for i in client_for(factory_manager).get("/").context["nav_items"]]
    assert reverse("suppliers:import_list") not in manager_nav
    assert reverse("admin:index") not in manager_nav
    brand_nav = [i["url"] for i in client_for(brand_staff).get("/").context["nav_items"]]
    assert reverse("suppliers:import_list") in brand_nav


def test_pages_carry_a_strict_content_security_policy(db):
    response = client_for(None).get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.text
    assert "style=" not in response.text


def test_language_switcher_changes_language(db):
    client = client_for(None)
    response = client.post(reverse("set_language"), {"language": "tr", "next": "/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "tr"
    assert '<html lang="tr">' in client.get("/").text


def test_healthz(db):
    response = client_for(None).get("/healthz")
    assert response.json() == {"status": "ok"}
