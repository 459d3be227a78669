"""The search box: each kind found within the person's scope, ranked, on SQLite (substring
on the normalised keys) and on PostgreSQL (full text and trigram similarity too)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from score_portal.scope import scope_of
from search.selectors import search
from suppliers.models import Factory, FactoryAlias
from suppliers.services import confirm_import, link_supplier, start_import
from tests.conftest import client_for
from tests.factories import FactoryFactory
from training.models import Certificate

pytestmark = pytest.mark.django_db

OS_ID = "CN2019067X1K87E"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full text and trigrams are PostgreSQL's"
)


@pytest.fixture
def huamei(world):
    """The demo's Dongguan Huamei, with its OS ID, on brand A's list (code A-001)."""
    world.factory.os_id = OS_ID
    world.factory.save()
    return world.factory


def found(user, text, kind=""):
    """{kind: [result, ...]} of what ``text`` finds for ``user``."""
    return {g.kind: g.results for g in search(scope_of(user), text, kind).groups}


def factory_ids(user, text):
    return [f.pk for f in found(user, text).get("factories", [])]


@pytest.mark.parametrize(
    "text",
    [
        OS_ID,
        OS_ID.lower(),
        "东莞华美制衣有限公司",
        "华美",
        "Dongguan Huamei Zhiyi Youxian Gongsi",  # pinyin, spaced
        "donggUANhuamei",  # pinyin, joined
        "Dōngguǎn Huáměi",  # pinyin with tone marks
        "hua mei",
        "Huamei Garment",
        "A-001",  # brand A's supplier code
        "a-001",
    ],
)
def test_the_demo_factory_is_found_by_os_id_any_script_and_supplier_code(huamei, brand_staff, text):
    assert factory_ids(brand_staff, text)[:1] == [huamei.pk]


def test_vietnamese_without_diacritics_and_turkish_without_legal_form(brand, brand_staff):
    viet = FactoryFactory(name="Công ty TNHH May Mặc Việt Tiến", name_latin="", country="VN")
    turk = FactoryFactory(name="Özdemir Tekstil Sanayi ve Ticaret A.Ş.", name_latin="")
    link_supplier(brand=brand, factory=viet)
    link_supplier(brand=brand, factory=turk)
    assert factory_ids(brand_staff, "may mac viet tien") == [viet.pk]
    assert factory_ids(brand_staff, "Ozdemir Tekstil A.S.") == [turk.pk]


def test_each_kind_is_found(huamei, world, brand_staff):
    certificate = Certificate.objects.create(
        enrolment=world.enrolment, status="issued", issued_at=timezone.now()
    )
    by_name = found(brand_staff, "Huamei")
    assert [f.pk for f in by_name["factories"]] == [huamei.pk]
    assert [e.pk for e in by_name["enrolments"]] == [world.enrolment.pk]
    assert "cohorts" not in by_name  # a brand sees no cohort: they are the providers'
    assert [c.pk for c in by_name["certificates"]] == [certificate.pk]
    assert [p.pk for p in found(brand_staff, "pilot")["partnerships"]] == [world.partnership.pk]
    # A certificate by its code, with or without dashes, any case.
    for text in (certificate.code, certificate.code.replace("-", "").lower()):
        assert [c.pk for c in found(brand_staff, text)["certificates"]] == [certificate.pk]


def test_cohorts_by_city_module_and_factory_for_their_provider(world, trainer, provider_staff):
    assert [c.pk for c in found(trainer, "Huamei")["cohorts"]] == [world.cohort.pk]
    assert [c.pk for c in found(provider_staff, "M1")["cohorts"]] == [world.cohort.pk]
    assert [c.pk for c in found(trainer, "dongguan")["cohorts"]] == [world.cohort.pk]
    assert [c.pk for c in found(provider_staff, "Dongguan")["cohorts"]] == [world.cohort.pk]


def test_another_brand_finds_nothing_of_a_factory_only_on_the_first_brands_list(
    huamei, world, other_brand_staff
):
    Certificate.objects.create(enrolment=world.enrolment, status="issued", issued_at=timezone.now())
    for text in (OS_ID, "东莞华美制衣有限公司", "Dongguan Huamei", "A-001", "Brand A pilot"):
        result = search(scope_of(other_brand_staff), text)
        assert (result.groups, result.total) == ([], 0), text
    # Its own factory it finds.
    assert factory_ids(other_brand_staff, "Özdemir") == [world.other_factory.pk]


def test_the_page_of_another_brand_shows_no_result_and_no_count(huamei, other_brand_staff):
    response = client_for(other_brand_staff).get(reverse("search:results"), {"q": OS_ID})
    assert response.status_code == 200
    html = response.content.decode()
    assert "search-nothing" in html
    assert huamei.name not in html
    assert "search-summary" not in html and "(1)" not in html


def test_a_supplier_code_is_the_brands_own(world, brand, other_brand, other_brand_staff):
    # Brand B lists the same factory under its own code: A's code still finds nothing for B.
    link_supplier(brand=other_brand, factory=world.factory, supplier_code="B-777")
    assert factory_ids(other_brand_staff, "B-777") == [world.factory.pk]
    assert factory_ids(other_brand_staff, "A-001") == []


def test_ranking_identifier_first_then_name_start_then_anywhere(brand, brand_staff):
    inside = FactoryFactory(name="Dongguan Huamei Garment Co., Ltd.", name_latin="")
    start = FactoryFactory(name="Huamei Printing Co., Ltd.", name_latin="")
    coded = FactoryFactory(name="Zeta Knitting Ltd.", name_latin="")
    unrelated = FactoryFactory(name="Anatolia Denim", name_latin="")
    for factory in (inside, start, unrelated):
        link_supplier(brand=brand, factory=factory)
    link_supplier(brand=brand, factory=coded, supplier_code="huamei")
    assert factory_ids(brand_staff, "Huamei") == [coded.pk, start.pk, inside.pk]


def test_a_merged_records_name_finds_the_factory(huamei, brand_staff):
    FactoryAlias.objects.create(
        factory=huamei,
        kind=FactoryAlias.Kind.NAME,
        value="Huamei Fashion Works",
        match_name="huameifashionworks|huameifashionworks|||huameifashionworks",
    )
    FactoryAlias.objects.create(
        factory=huamei, kind=FactoryAlias.Kind.REGISTRATION, value="91441900MA4UX"
    )
    assert factory_ids(brand_staff, "Huamei Fashion Works") == [huamei.pk]
    assert factory_ids(brand_staff, "91441900ma4ux") == [huamei.pk]


def test_saving_keeps_the_search_key_and_refresh_stores_stale_ones(huamei, brand_staff):
    huamei.name = "佛山新星纺织有限公司"
    huamei.save(update_fields=["name"])
    assert factory_ids(brand_staff, "Foshan Xinxing") == [huamei.pk]
    Factory.objects.filter(pk=huamei.pk).update(search_key="")
    assert Factory.objects.refresh_blank_search_keys() == 1
    assert factory_ids(brand_staff, "xinxing") == [huamei.pk]
    assert Factory.objects.refresh_blank_search_keys() == 0


def test_factories_an_import_writes_are_found(
    settings, tmp_path, brand, brand_staff, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile(
        "suppliers.csv",
        "Name,Address,Country,Supplier code\n宁波华美针织有限公司,宁波市北仑区,CN,NB-1\n".encode(),
    )
    supplier_import = start_import(brand=brand, user=brand_staff, upload=upload)
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        confirm_import(supplier_import=supplier_import, user=brand_staff)
    (factory,) = Factory.objects.all()
    assert factory.search_key == ""  # written in SQL: the key comes after the commit
    assert factory_ids(brand_staff, "NB-1") == [factory.pk]  # its code at once
    for callback in after_commit:  # the commit: refresh_search_keys, in-process here
        callback()
    assert factory_ids(brand_staff, "Ningbo Huamei Zhenzhi") == [factory.pk]
    assert factory_ids(brand_staff, "NB-1") == [factory.pk]


@pytest.mark.parametrize("text", ["", " ", "x", "\x00", "%", "_", "--", "'; DROP", "z" * 3000])
def test_odd_queries_answer_a_page(brand_staff, world, text):
    response = client_for(brand_staff).get(reverse("search:results"), {"q": text, "kind": text})
    assert response.status_code == 200


def test_punctuation_finds_nothing_rather_than_everything(world, brand_staff):
    assert search(scope_of(brand_staff), "%%").groups == []
    assert search(scope_of(brand_staff), "--").groups == []


def test_states_of_the_page(huamei, brand_staff):
    client = client_for(brand_staff)
    empty = client.get(reverse("search:results")).content.decode()
    assert "Type what you are looking for" in empty
    short = client.get(reverse("search:results"), {"q": "h"}).content.decode()
    assert "Type at least 2 characters." in short
    none = client.get(reverse("search:results"), {"q": "Nowhere Mills"}).content.decode()
    assert "Nothing found for “Nowhere Mills”." in none
    page = client.get(reverse("search:results"), {"q": "Huamei"}).content.decode()
    assert huamei.get_absolute_url() in page and "search-factories" in page
    one = client.get(reverse("search:results"), {"q": "Huamei", "kind": "factories"})
    assert "search-enrolments" not in one.content.decode()


def test_the_header_has_the_box_for_signed_in_people_only(brand_staff):
    assert 'id="header-search-q"' in client_for(brand_staff).get("/").content.decode()
    assert 'id="header-search-q"' not in client_for(None).get("/").content.decode()


def test_the_page_costs_the_same_queries_whatever_the_number_of_results(
    brand, brand_staff, django_assert_max_num_queries
):
    client = client_for(brand_staff)
    for n in range(12):  # more than the page shows: the count is a query of its own
        link_supplier(brand=brand, factory=FactoryFactory(name=f"Huamei {n} Ltd."))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("search:results"), {"q": "Huamei"})
    for n in range(12, 30):
        link_supplier(brand=brand, factory=FactoryFactory(name=f"Huamei {n} Ltd."))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("search:results"), {"q": "Huamei"})


def test_words_in_any_order(huamei, brand_staff):
    assert factory_ids(brand_staff, "Garment Huamei") == [huamei.pk]
    assert factory_ids(brand_staff, "华美 dongguan") == [huamei.pk]


@on_postgresql
def test_postgresql_finds_near_spellings(huamei, brand_staff):
    assert factory_ids(brand_staff, "Dongguan Huamie Garment") == [huamei.pk]  # trigrams
    assert factory_ids(brand_staff, "Dongguan Huamie") == [huamei.pk]


def test_sqlite_does_not_guess_near_spellings(huamei, brand_staff):
    if connection.vendor == "postgresql":
        pytest.skip("the plain fallback is SQLite's")
    assert factory_ids(brand_staff, "Dongguan Huamie Garment") == []


@on_postgresql
def test_postgresql_has_the_trigram_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'factory_search_key_trgm'")
        assert cursor.fetchone() == (1,)


def test_in_the_demo_inditex_finds_huamei_and_eti_does_not(catalogue):
    from score_portal import demo
    from score_portal.models import User

    demo.load_demo_world(password="demo-password-1")
    huamei = Factory.objects.get(os_id=demo.HUAMEI)
    inditex = User.objects.get(email=demo.BRAND_EMAIL)
    eti = User.objects.get(email=demo.ETI_EMAIL)
    for text in (demo.HUAMEI, "东莞华美制衣有限公司", "Dongguan Huamei Zhiyi Youxian Gongsi"):
        assert factory_ids(inditex, text) == [huamei.pk], text
        assert search(scope_of(eti), text).groups == [], text


@on_postgresql
def test_name_searches_read_the_trigram_index_of_factories_with_a_key(huamei, brand_staff):
    """The index leaves out blank keys (a just-imported factory's): the name searches ask
    for a key, so PostgreSQL still answers them from the index, not by reading every
    factory."""
    from search.selectors import _name_match, _near_match, _Query

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'factory_search_key_trgm'"
        )
        assert "WHERE (search_key <> ''::text)" in cursor.fetchone()[0]
    query = _Query.of("Huamei")
    names = Factory.objects.order_by().exclude(search_key="")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a ten-row table: ask for the plan
        for matching in (_name_match(query), _near_match(query)):
            plan = names.filter(matching).values("pk").explain()
            assert "factory_search_key_trgm" in plan, plan
