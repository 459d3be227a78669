"""A season's list again, through the web views: codes name suppliers, changes previewed and
applied by the rule for shared data, whole lists end links, decisions in place (issue 18)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from suppliers.models import BrandSupplier, Factory, FactoryChange, SupplierImport
from suppliers.services import add_factory_manager, link_supplier
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.suppliers.conftest import csv_upload

pytestmark = pytest.mark.django_db

HEADER = "Factory name,Address,City,Country,Supplier code,Workers\n"


@pytest.fixture
def season(brand, other_brand):
    """Inditex's demo list, as the last season left it (brand A plays Inditex); brand B
    lists Özdemir too, with its own code."""
    ozdemir = Factory.objects.create(
        name="Özdemir Tekstil San. ve Tic. A.Ş.",
        address="Demirtaş OSB, Mustafa Karaer Cd. No:12",
        country="TR",
        workers_total=540,
        workers_women=300,
    )
    caglar = Factory.objects.create(
        name="Çağlar Örme Sanayi Ltd. Şti.",
        address="Organize Sanayi Bölgesi 3. Cadde No:7",
        city="Denizli",
        country="TR",
    )
    ningbo = Factory.objects.create(
        name="Ningbo Haitian Textile Co., Ltd.",
        address="88 Binhai Road, Beilun District",
        city="Ningbo",
        country="CN",
    )
    link_supplier(brand=brand, factory=ozdemir, supplier_code="IDX-TR-0001")
    link_supplier(brand=brand, factory=caglar, supplier_code="IDX-TR-0002")
    link_supplier(brand=brand, factory=ningbo, supplier_code="IDX-CN-0002")
    link_supplier(brand=other_brand, factory=ozdemir, supplier_code="B-77")
    return {"ozdemir": ozdemir, "caglar": caglar, "ningbo": ningbo}


def _upload(client, brand, text: str, mode: str) -> SupplierImport:
    response = client.post(
        reverse("suppliers:import_new"),
        {"brand": brand.pk, "mode": mode, "file": csv_upload(text), "encoding": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return SupplierImport.objects.latest("pk")


def _confirm(client, supplier_import: SupplierImport) -> SupplierImport:
    response = client.post(reverse("suppliers:import_confirm", args=[supplier_import.pk]))
    assert response.status_code == 302
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.DONE, supplier_import.error_message
    return supplier_import


FULL_LIST = (
    HEADER
    # the same factory, its address changed, the city given, the workers changed
    + "Özdemir Tekstil San. ve Tic. A.Ş.,Demirtaş Organize Sanayi 2. Cadde No:4,Bursa,TR,"
    "IDX-TR-0001,560\n"
    + "Çağlar Örme Sanayi Ltd. Şti.,Organize Sanayi Bölgesi 3. Cadde No:7,Denizli,TR,"
    "IDX-TR-0002,\n"
    + "Ningbo Haitian Textile Co. Ltd,88 Binhai Road Beilun District,Ningbo,CN,IDX-CN-0002,\n"
)


def test_a_reupload_with_changed_data_updates_the_supplier_by_its_code(
    season, brand, other_brand, brand_staff, other_brand_staff
):
    client = client_for(brand_staff)
    ozdemir = season["ozdemir"]
    supplier_import = _upload(client, brand, FULL_LIST, "additions")
    assert supplier_import.rows_error == 0  # a known code is its supplier, never an error
    assert (supplier_import.rows_updated, supplier_import.rows_unchanged) == (1, 2)
    assert supplier_import.rows_new == 0
    page = client.get(supplier_import.get_absolute_url()).content.decode()
    assert "Demirtaş OSB, Mustafa Karaer Cd. No:12 → Demirtaş Organize Sanayi 2. Cadde No:4" in (
        page
    )
    assert "City: — → Bursa (blank, filled in)" in page
    assert "Workers: 540 → 560" in page

    _confirm(client, supplier_import)
    ozdemir.refresh_from_db()
    # Blanks filled; shared data that differs is proposed, not overwritten.
    assert ozdemir.city == "Bursa"
    assert ozdemir.address == "Demirtaş OSB, Mustafa Karaer Cd. No:12"
    assert ozdemir.workers_total == 540
    proposals = {c.field: c for c in FactoryChange.objects.filter(factory=ozdemir)}
    assert set(proposals) == {"address", "workers_total"}
    assert proposals["address"].value == "Demirtaş Organize Sanayi 2. Cadde No:4"
    assert proposals["address"].status == FactoryChange.Status.PENDING
    assert proposals["address"].brand == brand
    # The second brand's link is untouched; it sees no proposal of brand A's.
    assert BrandSupplier.objects.get(brand=other_brand, factory=ozdemir).supplier_code == "B-77"
    other_page = client_for(other_brand_staff).get(ozdemir.get_absolute_url()).content.decode()
    assert "Demirtaş Organize Sanayi 2. Cadde" not in other_page
    assert "IDX-TR-0001" not in other_page

    # A brand does not decide on shared data; the factory's manager does.
    decide = reverse("suppliers:change_decide", args=[proposals["address"].pk])
    assert client.post(decide, {"accept": "yes"}).status_code == 403
    manager = UserFactory(email="manager@ozdemir.example.org")
    add_factory_manager(factory=ozdemir, user=manager)
    manager_client = client_for(manager)
    assert (
        "Changes proposed by brands"
        in manager_client.get(ozdemir.get_absolute_url()).content.decode()
    )
    assert manager_client.post(decide, {"accept": "yes"}).status_code == 302
    reject = reverse("suppliers:change_decide", args=[proposals["workers_total"].pk])
    assert manager_client.post(reject, {"accept": "no"}).status_code == 302
    ozdemir.refresh_from_db()
    assert ozdemir.address == "Demirtaş Organize Sanayi 2. Cadde No:4"
    assert ozdemir.workers_total == 540
    assert FactoryChange.objects.get(pk=proposals["workers_total"].pk).status == "rejected"

    # The same file again: nothing left to change, and the page says so; a rejected value
    # is not proposed again.
    again = _upload(client, brand, FULL_LIST, "additions")
    assert (again.rows_unchanged, again.rows_updated, again.rows_error) == (3, 0, 0)
    assert (
        "This file changes nothing on your list"
        in client.get(again.get_absolute_url()).content.decode()
    )


def test_the_same_file_twice_changes_nothing_the_second_time(season, brand, brand_staff):
    client = client_for(brand_staff)
    text = FULL_LIST + "Hoa Binh Textile JSC,12 Tran Phu,Hoa Binh,VN,IDX-VN-0001,\n"
    first = _confirm(client, _upload(client, brand, text, "whole"))
    assert first.rows_new == 1
    state = (
        list(Factory.objects.order_by("pk").values()),
        list(BrandSupplier.objects.order_by("pk").values()),
        list(FactoryChange.objects.order_by("pk").values()),
        BrandSupplier.history.count(),
    )
    second = _upload(client, brand, text, "whole")
    assert (second.rows_unchanged, second.links_ending, second.rows_error) == (4, 0, 0)
    assert (
        "This file changes nothing on your list"
        in client.get(second.get_absolute_url()).content.decode()
    )
    _confirm(client, second)
    assert state == (
        list(Factory.objects.order_by("pk").values()),
        list(BrandSupplier.objects.order_by("pk").values()),
        list(FactoryChange.objects.order_by("pk").values()),
        BrandSupplier.history.count(),
    )


def test_a_whole_list_ends_the_suppliers_it_leaves_out_and_they_can_be_restored(
    season, brand, brand_staff, other_brand
):
    client = client_for(brand_staff)
    only_ningbo = HEADER + (
        "Ningbo Haitian Textile Co. Ltd,88 Binhai Road Beilun District,Ningbo,CN,IDX-CN-0002,\n"
    )
    supplier_import = _upload(client, brand, only_ningbo, "whole")
    assert supplier_import.links_ending == 2
    page = client.get(supplier_import.get_absolute_url()).content.decode()
    assert "2 suppliers are no longer on your list" in page
    assert "Özdemir Tekstil San. ve Tic. A.Ş." in page and "IDX-TR-0002" in page
    _confirm(client, supplier_import)

    ended = BrandSupplier.objects.filter(brand=brand, ended_at__isnull=False)
    assert {link.supplier_code for link in ended} == {"IDX-TR-0001", "IDX-TR-0002"}
    assert BrandSupplier.objects.get(brand=other_brand).ended_at is None  # brand B's own
    listed = client.get(reverse("suppliers:factory_list")).content.decode()
    assert "Ningbo Haitian" in listed and "Çağlar" not in listed
    with_ended = client.get(reverse("suppliers:factory_list") + "?ended=on").content.decode()
    assert "Çağlar" in with_ended and "left the list on" in with_ended

    caglar_link = ended.get(supplier_code="IDX-TR-0002")
    # The history records the end: by whom, which import.
    record = caglar_link.history.order_by("-history_id").first()
    assert record.ended_at is not None and record.history_user == brand_staff
    assert record.history_change_reason.startswith(f"import {supplier_import.pk}:")

    response = client.post(reverse("suppliers:link_restore", args=[caglar_link.pk]))
    assert response.status_code == 302
    caglar_link.refresh_from_db()
    assert caglar_link.ended_at is None and caglar_link.supplier_code == "IDX-TR-0002"
    detail = client.get(season["caglar"].get_absolute_url()).content.decode()
    assert "Supplier code history" in detail and "restored" in detail
    # Another brand's people cannot restore brand A's links (not even see them).
    outsider = client_for(UserFactory(email="someone@example.org"))
    assert outsider.post(reverse("suppliers:link_restore", args=[caglar_link.pk])).status_code in (
        403,
        404,
    )


def test_additions_end_nothing(season, brand, brand_staff):
    client = client_for(brand_staff)
    text = HEADER + "Hoa Binh Textile JSC,12 Tran Phu,Hoa Binh,VN,IDX-VN-0001,\n"
    supplier_import = _confirm(client, _upload(client, brand, text, "additions"))
    assert supplier_import.links_ending == 0
    assert not BrandSupplier.objects.filter(ended_at__isnull=False).exists()
    assert BrandSupplier.objects.filter(brand=brand).count() == 4


def test_the_upload_asks_whole_list_or_additions(brand, brand_staff):
    client = client_for(brand_staff)
    response = client.post(
        reverse("suppliers:import_new"),
        {"brand": brand.pk, "file": csv_upload(HEADER + "X,1 Road,,TR,,\n"), "encoding": ""},
    )
    assert response.status_code == 200
    assert "Say whether the file is your whole list or additions." in response.content.decode()
    assert not SupplierImport.objects.exists()


def test_a_whole_list_keeps_a_supplier_whose_row_has_an_error(season, brand, brand_staff):
    client = client_for(brand_staff)
    text = FULL_LIST.replace("IDX-TR-0002,\n", "IDX-TR-0002,many\n")
    supplier_import = _upload(client, brand, text, "whole")
    assert supplier_import.rows_error == 1
    assert supplier_import.links_ending == 0


def _review_rows(brand):
    """Two factories a file names only approximately (possible matches), one of them
    twice, and a third row that would give one of them a second code."""
    anatolia = Factory.objects.create(
        name="Anatolia Denim Mill", address="5 Fabrika Yolu", country="TR"
    )
    marmara = Factory.objects.create(
        name="Marmara Knitting Works", address="9 Liman Caddesi", country="TR"
    )
    return anatolia, marmara


def test_deciding_in_place_updates_every_row_it_settles_and_the_counts(brand, brand_staff):
    client = client_for(brand_staff)
    anatolia, _marmara = _review_rows(brand)
    text = (
        HEADER
        + "Anatolia Denim Milll,5 Fabrika Yolu,,TR,AD-1,\n"
        + "Anatolia Denim Milll,5 Fabrika Yolu,,TR,AD-1,\n"  # the same row again
        + "Marmara Knitting Workss,9 Liman Caddesi,,TR,MK-1,\n"
    )
    supplier_import = _upload(client, brand, text, "additions")
    assert supplier_import.rows_review == 2
    row = supplier_import.rows.get(line=2)
    response = client.post(
        reverse("suppliers:import_decide", args=[supplier_import.pk, row.pk]),
        {"same": "yes"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    # The whole preview block comes back: counts and both rows of the factory.
    assert html.startswith('<div id="import-preview">')
    assert 'data-count="review">1<' in html
    assert 'data-count="matched">1<' in html
    assert "Same factory as row 2" in html
    assert html.count(f"Factory “{anatolia.name}”") == 1
    repeat = supplier_import.rows.get(line=3)
    assert repeat.factory_id == anatolia.pk and repeat.duplicate_of == 2


def test_accept_all_above_a_similarity(brand, brand_staff):
    client = client_for(brand_staff)
    _review_rows(brand)
    text = (
        HEADER
        + "Anatolia Denim Milll,5 Fabrika Yolu,,TR,AD-1,\n"
        + "Marmara Knitting Workss,9 Liman Caddesi Kat 2,,TR,MK-1,\n"
    )
    supplier_import = _upload(client, brand, text, "additions")
    scores = dict(supplier_import.rows.values_list("line", "score"))
    assert supplier_import.rows_review == 2, scores
    threshold = max(scores.values())
    assert min(scores.values()) < threshold
    page = client.get(supplier_import.get_absolute_url()).content.decode()
    assert 'name="min_score"' in page and 'value="90"' in page
    response = client.post(
        reverse("suppliers:import_decide_all", args=[supplier_import.pk]),
        {"same": "yes", "min_score": threshold},
        HTTP_HX_REQUEST="true",
    )
    assert 'data-count="review">1<' in response.content.decode()
    outcomes = dict(supplier_import.rows.values_list("line", "outcome"))
    best = next(line for line, score in scores.items() if score == threshold)
    assert outcomes[best] == "matched"
    assert list(outcomes.values()).count("review") == 1
    bad = client.post(
        reverse("suppliers:import_decide_all", args=[supplier_import.pk]),
        {"same": "yes", "min_score": "lots"},
        HTTP_HX_REQUEST="true",
    )
    assert "Give a similarity between 0 and 100." in bad.content.decode()


def test_every_code_of_the_file_ends_on_the_list_or_in_an_error_naming_it(brand, brand_staff):
    """Two rows that come to one factory (one exact, one decided) with two codes: the
    second code is an error row naming it, never silently dropped."""
    client = client_for(brand_staff)
    _review_rows(brand)
    text = (
        HEADER
        + "Anatolia Denim Mill,5 Fabrika Yolu,,TR,AD-1,\n"
        + "Anatolia Denim Milll,5 Fabrika Yolu,,TR,AD-2,\n"
        + "Yeni Fabrika,1 Yol,,TR,YF-1,\n"
    )
    supplier_import = _upload(client, brand, text, "additions")
    row = supplier_import.rows.get(line=3)
    client.post(
        reverse("suppliers:import_decide", args=[supplier_import.pk, row.pk]),
        {"same": "yes"},
        HTTP_HX_REQUEST="true",
    )
    supplier_import.refresh_from_db()
    assert supplier_import.rows_error == 1 and supplier_import.rows_review == 0
    _confirm(client, supplier_import)
    listed = set(BrandSupplier.objects.filter(brand=brand).values_list("supplier_code", flat=True))
    errors = " ".join(r.error_text for r in supplier_import.rows.filter(outcome="error"))
    for code in ("AD-1", "AD-2", "YF-1"):
        assert code in listed or code in errors, code
    assert "AD-2" in errors and "Anatolia Denim Mill" in errors
    # The download of rows to fix has the row, its values in their columns.
    download = b"".join(
        client.get(reverse("suppliers:import_errors", args=[supplier_import.pk])).streaming_content
    ).decode("utf-8-sig")
    assert "Anatolia Denim Milll,5 Fabrika Yolu,,TR,AD-2," in download


def test_a_code_on_a_row_naming_another_portal_factory_is_an_error_naming_both(
    season, brand, brand_staff
):
    client = client_for(brand_staff)
    text = HEADER + "Ningbo Haitian Textile Co. Ltd,88 Binhai Road,Ningbo,CN,IDX-TR-0001,\n"
    supplier_import = _upload(client, brand, text, "additions")
    error = supplier_import.rows.get().error_text
    assert "IDX-TR-0001" in error and "Özdemir Tekstil" in error and "Ningbo Haitian" in error


def test_the_ilo_decides_proposals_from_its_queue_and_brands_see_none_of_it(
    season, brand, brand_staff, other_brand_staff, ilo_admin
):
    client = client_for(brand_staff)
    text = HEADER + (
        "Çağlar Örme Sanayi Ltd. Şti.,Organize Sanayi Bölgesi 3. Cadde No:7,Uşak,TR,IDX-TR-0002,\n"
    )
    _confirm(client, _upload(client, brand, text, "additions"))
    change = FactoryChange.objects.get()
    assert (change.field, change.old_value, change.value) == ("city", "Denizli", "Uşak")

    ilo = client_for(ilo_admin)
    assert (
        "1 change proposed by brands awaits your decision"
        in ilo.get(reverse("suppliers:factory_list")).content.decode()
    )
    queue = ilo.get(reverse("suppliers:change_list")).content.decode()
    assert "Uşak" in queue and "Denizli" in queue
    other = client_for(other_brand_staff)
    assert "Uşak" not in other.get(reverse("suppliers:change_list")).content.decode()
    decide = reverse("suppliers:change_decide", args=[change.pk])
    assert other.post(decide, {"accept": "yes"}).status_code == 404
    response = ilo.post(decide, {"accept": "yes", "next": reverse("suppliers:change_list")})
    assert response.url == reverse("suppliers:change_list")
    season["caglar"].refresh_from_db()
    assert season["caglar"].city == "Uşak"
    # Decided once: a second answer is refused with a message, not a 500.
    ilo.post(decide, {"accept": "no"})
    assert FactoryChange.objects.get().status == FactoryChange.Status.ACCEPTED


def test_inditex_demo_list_sent_again_next_season(client):
    """The demo world: Inditex sends its list again, codes kept, an address changed, the
    Chinese factories written in Latin script. No row refused, no factory created."""
    from score_portal.demo import BRAND_EMAIL, load_demo_world
    from score_portal.models import User

    load_demo_world(password="demo-password-not-secret")
    inditex_staff = User.objects.get(email=BRAND_EMAIL)
    inditex = inditex_staff.memberships.get().partner
    factories = Factory.objects.count()
    web = client_for(inditex_staff)
    text = (
        HEADER + "Özdemir Tekstil Sanayi ve Ticaret A.Ş.,Demirtaş OSB Mavi Cadde No: 16 Osmangazi,"
        "Bursa,TR,IDX-TR-0001,\n"
        + "Ningbo Haitian Textile Co. Ltd.,66 Kejiyuan Road Jiangshan Town Yinzhou,Ningbo,CN,"
        "IDX-CN-0002,\n"
        + "Dongguan Huamei Garment Co. Ltd.,18 Yinlong Road Humen Town,Dongguan,CN,"
        "IDX-CN-0001,\n"
        + "Çağlar Konfeksiyon Ltd. Şti.,Göztepe Mah. Konfeksiyoncular Sitesi 3. Blok No: 27,"
        "İstanbul,TR,IDX-TR-0002,\n"
    )
    supplier_import = _upload(web, inditex, text, "whole")
    assert supplier_import.rows_error == 0, [r.error_text for r in supplier_import.rows.all()]
    assert (supplier_import.rows_new, supplier_import.rows_review) == (0, 0)
    assert supplier_import.links_ending == 0
    _confirm(web, supplier_import)
    assert Factory.objects.count() == factories
    # Only the Latin-script address of the Turkish factory is a proposal; the Chinese
    # factories' Latin renderings of their addresses are not.
    assert list(FactoryChange.objects.values_list("factory__os_id", "field")) == [
        ("TR2018213B5K2MZ", "address")
    ]


def test_a_supplier_that_left_the_list_keeps_its_enrolments_but_is_not_enrolled_or_exported(
    world, brand, brand_staff, module_1
):
    from suppliers.services import end_link
    from training.models import Enrolment
    from training.services.enrolment import enrol_suppliers

    enrolments = list(Enrolment.objects.filter(factory=world.factory).values_list("pk", "status"))
    assert enrolments
    end_link(link=world.link, user=brand_staff)
    assert (
        list(Enrolment.objects.filter(factory=world.factory).values_list("pk", "status"))
        == enrolments
    )
    results = enrol_suppliers(
        brand=brand,
        factories=[world.factory],
        module=module_1,
        partnership=world.partnership,
        actor=brand_staff,
    )
    assert results[0].refusal == "Not on your supplier list."
    client = client_for(brand_staff)
    export = b"".join(client.get(reverse("suppliers:export", args=["csv"])).streaming_content)
    assert b"A-001" not in export
    record = world.link.history.order_by("-history_id").first()
    assert record.ended_at is not None and record.history_change_reason == "ended"
