"""The ILO's queue of likely duplicate factories, filled by the background search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from suppliers.models import DuplicateCandidate
from suppliers.tasks import find_duplicate_factories
from tests.conftest import client_for
from tests.factories import FactoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(db):
    """Two pairs that are one factory each, sister mills that are not, and a look-alike in
    another country."""
    huamei = FactoryFactory(
        name="Dongguan Huamei Garment Co., Ltd.", name_latin="", address="12 Industrial Road, Humen"
    )
    huamei_again = FactoryFactory(
        name="Dongguan Huamei Garment Company Limited",
        name_latin="",
        address="12 Industrial Rd., Humen",
    )
    haitian = FactoryFactory(
        name="Ningbo Haitian Textile Co., Ltd.", name_latin="", address="88 Binhai Avenue, Beilun"
    )
    haitian_typo = FactoryFactory(
        name="Ningbo Haitain Textile Co., Ltd.", name_latin="", address="88 Binhai Avenue Beilun"
    )
    mill_12 = FactoryFactory(name="Anhui Cotton Mill 12", name_latin="", address="5 Mill Road")
    mill_15 = FactoryFactory(name="Anhui Cotton Mill 15", name_latin="", address="5 Mill Road")
    elsewhere = FactoryFactory(
        name="Dongguan Huamei Garment Co., Ltd.",
        name_latin="",
        address="12 Industrial Road, Humen",
        country="VN",
    )
    return {
        "huamei": (huamei, huamei_again),
        "haitian": (haitian, haitian_typo),
        "mills": (mill_12, mill_15),
        "elsewhere": elsewhere,
    }


def _pairs():
    return set(DuplicateCandidate.objects.values_list("factory_a_id", "factory_b_id"))


def test_the_task_fills_the_queue_per_country(registry):
    assert find_duplicate_factories() == 2
    pairs = _pairs()
    for key in ("huamei", "haitian"):
        a, b = registry[key]
        assert (min(a.pk, b.pk), max(a.pk, b.pk)) in pairs, key
    mill_12, mill_15 = registry["mills"]
    assert (mill_12.pk, mill_15.pk) not in pairs  # "Mill 12" is not "Mill 15"
    assert not any(registry["elsewhere"].pk in pair for pair in pairs)  # another country
    assert set(DuplicateCandidate.objects.values_list("country", flat=True)) == {"CN"}
    assert all(
        0 < score <= 100 for score in DuplicateCandidate.objects.values_list("score", flat=True)
    )


def test_running_twice_or_for_one_country_changes_nothing(registry):
    find_duplicate_factories()
    first = set(
        DuplicateCandidate.objects.values_list("pk", "factory_a_id", "factory_b_id", "score")
    )
    find_duplicate_factories()
    find_duplicate_factories("CN")
    find_duplicate_factories("VN")
    assert (
        set(DuplicateCandidate.objects.values_list("pk", "factory_a_id", "factory_b_id", "score"))
        == first
    )


def test_queue_shows_pairs_and_a_dismissed_pair_stays_dismissed(registry, ilo_admin):
    find_duplicate_factories()
    client = client_for(ilo_admin)
    page = client.get(reverse("suppliers:duplicate_list"))
    assert page.status_code == 200
    huamei, huamei_again = registry["huamei"]
    assert huamei.name in page.text and "Ningbo Haitain Textile" in page.text
    pair = DuplicateCandidate.objects.get(factory_a=min(huamei.pk, huamei_again.pk))
    merge_link = f"keep={pair.factory_a_id}&amp;merge={pair.factory_b_id}"
    assert merge_link in page.text
    response = client.post(
        reverse("suppliers:duplicate_dismiss", args=[pair.pk]), {"country": "CN"}
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED
    assert pair.decided_by == ilo_admin
    find_duplicate_factories()  # found again, still dismissed
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED
    page = client.get(reverse("suppliers:duplicate_list"), {"country": "CN"}).text
    assert merge_link not in page and "Ningbo Haitain Textile" in page


def test_search_now_runs_the_task_in_the_background(
    registry, ilo_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client_for(ilo_admin).post(reverse("suppliers:duplicate_search"), follow=True)
    assert len(queued) == 1  # queued after commit
    assert response.status_code == 200
    assert DuplicateCandidate.objects.count() == 2  # tasks run in-process in tests


def test_a_merged_pair_leaves_the_queue(registry, ilo_admin):
    find_duplicate_factories()
    huamei, huamei_again = registry["huamei"]
    client = client_for(ilo_admin)
    url = reverse("suppliers:factory_merge")
    preview = client.get(url, {"keep": huamei.pk, "merge": huamei_again.pk})
    client.post(
        url,
        {
            "keep": huamei.pk,
            "merge": huamei_again.pk,
            "reason": "Same address",
            "fingerprint": preview.context["plan"].fingerprint,
        },
    )
    assert DuplicateCandidate.objects.count() == 1
    find_duplicate_factories()
    assert DuplicateCandidate.objects.count() == 1  # the alias is the survivor itself


def test_queue_query_count_does_not_grow(registry, ilo_admin, django_assert_max_num_queries):
    find_duplicate_factories()
    client = client_for(ilo_admin)
    client.get(reverse("suppliers:duplicate_list"))
    with django_assert_max_num_queries(12):
        client.get(reverse("suppliers:duplicate_list"))
