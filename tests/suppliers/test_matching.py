"""One factory, many brands: normalised keys, OS IDs, fuzzy candidates, remembered decisions."""

from __future__ import annotations

import random
import re

import pytest
from django.urls import reverse

from suppliers.importing import matching, normalise
from suppliers.importing.normalise import (
    _LEGAL_PREFIXES,
    _LEGAL_SUFFIXES,
    NameKey,
    _strip,
    name_key,
    name_parts,
    name_words,
    to_ascii,
    tokens,
)
from suppliers.models import BrandSupplier, Factory, SupplierImportRow, SupplierMatchDecision
from suppliers.services import SupplierError, confirm_import, decide_all_matches, decide_match
from tests.suppliers.conftest import csv_upload

pytestmark = pytest.mark.django_db
Outcome = SupplierImportRow.Outcome


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Dongguan Huamei Garment Co., Ltd.", "DONGGUAN HUAMEI GARMENT CO LTD"),
        ("Özdemir Tekstil San. ve Tic. A.Ş.", "Ozdemir Tekstil"),
        ("Công ty TNHH May Việt Tiến", "May Viet Tien Co., Ltd"),
        ("东莞华美制衣有限公司", "东莞华美制衣"),
    ],
)
def test_names_normalise_to_one_key(a, b):
    assert name_key(a) == name_key(b)


def test_one_factory_two_brands_each_with_its_own_code(
    upload, brand, other_brand, brand_staff, other_brand_staff
):
    first = upload(
        csv_upload(
            'Name,Address,Country,Code\n"Huamei Garment Co., Ltd.",12 Industrial Rd,CN,A-9\n'
        )
    )
    confirm_import(supplier_import=first, user=brand_staff)
    second = upload(
        csv_upload(
            "Supplier name,Site address,Country/Region,Vendor code\n"
            "HUAMEI GARMENT LIMITED,12 Industrial Road,China,B-7\n"
        ),
        as_brand=other_brand,
        user=other_brand_staff,
    )
    row = second.rows.get()
    assert row.outcome == Outcome.MATCHED
    confirm_import(supplier_import=second, user=other_brand_staff)
    factory = Factory.objects.get()
    codes = dict(
        BrandSupplier.objects.filter(factory=factory).values_list("brand__name", "supplier_code")
    )
    assert codes == {"Brand A": "A-9", "Brand B": "B-7"}
    # Brand B's preview never showed brand A's code.
    assert "A-9" not in str(row.data)


def test_os_id_matches_first(upload, world, brand_staff):
    Factory.objects.filter(pk=world.other_factory.pk).update(os_id="TR2020123ABCDEF")
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,OS ID\nCompletely Different Name,Elsewhere 9,TR,tr2020123abcdef\n"
        )
    )
    row = supplier_import.rows.get()
    assert (row.outcome, row.factory_id) == (Outcome.MATCHED, world.other_factory.pk)


def test_code_change_on_an_existing_link_is_an_update(upload, world, brand_staff):
    factory = world.factory
    text = f"Name,Address,Country,Code\n{factory.name},{factory.address},CN,A-NEW\n"
    supplier_import = upload(csv_upload(text))
    assert supplier_import.rows.get().outcome == Outcome.UPDATED
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert (
        BrandSupplier.objects.get(brand__name="Brand A", factory=factory).supplier_code == "A-NEW"
    )


def test_fuzzy_decisions_are_remembered_on_the_next_upload(upload, brand, brand_staff):
    same = Factory.objects.create(
        name="Anatolia Denim Tekstil", address="1 Fabrika Yolu, Bursa", country="TR"
    )
    other = Factory.objects.create(
        name="Anadolu Dokuma", address="9 Sanayi Cad, Bursa", country="TR"
    )
    text = (
        "Name,Address,Country\n"
        "Anatolia Denim Tekstill,1 Fabrika Yolu Bursa,TR\n"
        "Anadolu Dokumaa,9 Sanayi Cad Bursa,TR\n"
    )
    first = upload(csv_upload(text))
    rows = {r.line: r for r in first.rows.select_related("supplier_import")}
    assert [rows[2].outcome, rows[2].candidate_id] == [Outcome.REVIEW, same.pk]
    assert [rows[3].outcome, rows[3].candidate_id] == [Outcome.REVIEW, other.pk]
    assert first.rows_review == 2
    decide_match(row=rows[2], is_same=True, user=brand_staff)
    decide_match(row=rows[3], is_same=False, user=brand_staff)
    assert SupplierMatchDecision.objects.filter(brand=brand).count() == 2

    again = upload(csv_upload(text))
    outcomes = {r.line: (r.outcome, r.factory_id) for r in again.rows.all()}
    assert outcomes == {2: (Outcome.MATCHED, same.pk), 3: (Outcome.NEW, None)}


def test_confirm_waits_for_decisions(upload, brand_staff):
    from suppliers.services import SupplierError

    Factory.objects.create(name="Anatolia Denim Tekstil", address="1 Fabrika Yolu", country="TR")
    supplier_import = upload(
        csv_upload("Name,Address,Country\nAnatolia Denim Tekstill,1 Fabrika Yolu,TR\n")
    )
    with pytest.raises(
        SupplierError, match="1 row may be a factory already in the portal: decide on it first"
    ):
        confirm_import(supplier_import=supplier_import, user=brand_staff)


def test_management_command_imports_for_a_brand(brand, tmp_path):
    from django.core.management import call_command

    from tests.suppliers.conftest import FIXTURES

    out = __import__("io").StringIO()
    call_command("import_suppliers", str(FIXTURES / "utf8.csv"), "--brand", "brand a", stdout=out)
    assert Factory.objects.count() == 0
    call_command(
        "import_suppliers",
        str(FIXTURES / "utf8.csv"),
        "--brand",
        str(brand.pk),
        "--confirm",
        stdout=out,
    )
    assert Factory.objects.count() == 3
    assert "done: 3 rows, 3 new" in out.getvalue()


def test_ilo_admin_finds_and_deletes_a_wrong_match_decision(client, django_user_model, brand):
    admin = django_user_model.objects.create_superuser(email="root@example.org", password="x")
    client.force_login(admin)
    factory = Factory.objects.create(name="Anatolia Denim", address="1 Road", country="TR")
    decision = SupplierMatchDecision.objects.create(
        brand=brand, row_key="k" * 40, factory=factory, is_same=True
    )
    listing = client.get(
        reverse("admin:suppliers_suppliermatchdecision_changelist"), {"q": "Anatolia"}
    )
    assert listing.status_code == 200 and "Anatolia Denim" in listing.text
    assert client.get(reverse("admin:suppliers_suppliermatchdecision_add")).status_code == 403
    url = reverse("admin:suppliers_suppliermatchdecision_delete", args=[decision.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not SupplierMatchDecision.objects.exists()


def _possible_matches(upload, count: int, *, codes: dict[int, str] | None = None):
    """An upload whose ``count`` rows each look like (not exactly like) an existing factory."""
    factories = [
        Factory.objects.create(
            name=f"Anatolia Denim Mill {n}", address=f"{n} Fabrika Yolu", country="TR"
        )
        for n in range(count)
    ]
    lines = ["Name,Address,Country,Supplier code"]
    lines += [
        f"Anatolia Denim Milll {n},{n} Fabrika Yolu,TR,{(codes or {}).get(n, '')}"
        for n in range(count)
    ]
    supplier_import = upload(csv_upload("\n".join(lines) + "\n"))
    assert supplier_import.rows_review == count
    return supplier_import, factories


def test_accepting_all_matches_decides_each_row_as_deciding_it_alone_would(
    upload, brand, brand_staff
):
    supplier_import, factories = _possible_matches(upload, 3, codes={1: "NEW-1", 2: "SAME-2"})
    BrandSupplier.objects.create(brand=brand, factory=factories[1], supplier_code="OLD-1")
    BrandSupplier.objects.create(brand=brand, factory=factories[2], supplier_code="SAME-2")
    assert decide_all_matches(supplier_import=supplier_import, is_same=True, user=brand_staff) == 3
    rows = {r.line: (r.outcome, r.factory_id) for r in supplier_import.rows.all()}
    assert rows == {
        2: (Outcome.MATCHED, factories[0].pk),  # not on the list yet
        3: (Outcome.UPDATED, factories[1].pk),  # on it, with another code
        4: (Outcome.UNCHANGED, factories[2].pk),  # on it, with this code
    }
    supplier_import.refresh_from_db()
    assert (supplier_import.rows_review, supplier_import.rows_matched) == (0, 1)
    assert (supplier_import.rows_updated, supplier_import.rows_unchanged) == (1, 1)
    assert set(
        SupplierMatchDecision.objects.filter(brand=brand).values_list("factory_id", "is_same")
    ) == {(f.pk, True) for f in factories}
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert dict(
        BrandSupplier.objects.filter(brand=brand).values_list("factory_id", "supplier_code")
    ) == {factories[0].pk: "", factories[1].pk: "NEW-1", factories[2].pk: "SAME-2"}
    assert Factory.objects.count() == 3


def test_rejecting_all_matches_makes_new_factories_and_is_remembered(upload, brand, brand_staff):
    supplier_import, factories = _possible_matches(upload, 2)
    # One decided alone first: deciding all leaves it as it is.
    decide_match(row=supplier_import.rows.first(), is_same=True, user=brand_staff)
    supplier_import.refresh_from_db()
    assert decide_all_matches(supplier_import=supplier_import, is_same=False, user=brand_staff) == 1
    assert decide_all_matches(supplier_import=supplier_import, is_same=False, user=brand_staff) == 0
    assert set(
        SupplierMatchDecision.objects.filter(brand=brand).values_list("factory_id", "is_same")
    ) == {(factories[0].pk, True), (factories[1].pk, False)}
    again = upload(csv_upload("Name,Address,Country\nAnatolia Denim Milll 1,1 Fabrika Yolu,TR\n"))
    assert again.rows.get().outcome == Outcome.NEW  # remembered: no question this time


def test_a_possible_match_deleted_meanwhile_becomes_a_new_factory(upload, brand_staff):
    supplier_import, factories = _possible_matches(upload, 2)
    factories[0].delete()
    assert decide_all_matches(supplier_import=supplier_import, is_same=True, user=brand_staff) == 2
    rows = {r.line: (r.outcome, r.factory_id) for r in supplier_import.rows.all()}
    assert rows == {2: (Outcome.NEW, None), 3: (Outcome.MATCHED, factories[1].pk)}


def test_deciding_all_matches_takes_the_same_statements_for_3_rows_as_for_40(upload, brand_staff):
    """Row by row it took five statements a row and a count of the whole import each time:
    a list with thousands of possible matches outlasted the request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (3, 40):
        supplier_import, _factories = _possible_matches(upload, size)
        with CaptureQueriesContext(connection) as queries:
            decide_all_matches(supplier_import=supplier_import, is_same=True, user=brand_staff)
        counts.append(len(queries))
        Factory.objects.all().delete()
    assert counts[0] == counts[1], counts


def test_deciding_all_is_refused_once_the_import_is_confirmed(upload, brand_staff):
    supplier_import, _factories = _possible_matches(upload, 1)
    decide_all_matches(supplier_import=supplier_import, is_same=True, user=brand_staff)
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    with pytest.raises(SupplierError, match="no longer waiting for decisions"):
        decide_all_matches(supplier_import=supplier_import, is_same=False, user=brand_staff)


# --- Blocking and normalising -------------------------------------------------------------


def _key(text: str) -> NameKey:
    return name_parts(text)


def test_oversized_blocks_are_searched_by_a_longer_prefix(monkeypatch):
    monkeypatch.setattr(matching, "MAX_BLOCK", 2)
    index = matching.CountryIndex()
    for factory_id, name in enumerate(["Huameix", "Huangda", "Huaxin", "Huameiy"], start=1):
        index.add(_key(name), "", "12industrialroad", factory_id)
    assert index.candidates("|hua", "huameiz") == [0, 3]
    assert index.candidates("|hua", "huaxin") == [2]
    # A small block is returned whole.
    index.add(_key("Dongguan Mill"), "", "1road", 9)
    assert index.candidates("|don", "dongguan") == [4]


def test_a_key_of_one_name_holds_its_bare_position_until_a_second_joins():
    index = matching.CountryIndex()
    index.add(_key("Dongguan Huamei Garment"), "dongguan", "12road", 7)
    # By its distinctive name, and without its city.
    assert index.keys == {"dongguanhuamei": 0, "huamei": 0}
    index.add(_key("Huamei Textile"), "", "3road", 8)
    assert index.keys["huamei"] == [0, 1]
    assert index.candidates("|xyz", "xyz") == []
    assert list(index.ids) == [7, 8]


def test_names_with_digits_only_meet_names_with_the_same_digits():
    assert matching.block_keys(_key("Mill 12")) == {"12|12": "12", "12|mil": "mill12"}
    assert matching.block_keys(_key("Huamei Garment")) == {
        "|hua": "huamei",
    }


def _strip_by_scanning(words: list[str]) -> list[str]:
    """The plain scan the lookup replaced: first listed legal form first."""
    changed = True
    while changed and words:
        changed = False
        for suffix in _LEGAL_SUFFIXES:
            n = len(suffix)
            if len(words) > n and tuple(words[-n:]) == suffix:
                del words[-n:]
                changed = True
                break
        for prefix in _LEGAL_PREFIXES:
            n = len(prefix)
            if len(words) > n and tuple(words[:n]) == prefix:
                del words[:n]
                changed = True
                break
    return words


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Foo San. ve Tic. A.Ş.", ["foo"]),
        ("Foo San ve Tic Ltd Sti", ["foo"]),
        ("Công ty TNHH MTV Foo", ["foo"]),
        ("Cong ty co phan Foo JSC", ["foo"]),
        ("PT Foo Tbk", ["foo"]),
        ("东莞华美制衣有限公司", ["dong", "guan", "hua", "mei", "garment"]),
        ("广州股份有限公司", ["guang", "zhou"]),
        ("A S", ["a", "s"]),  # a name never loses its last word
        ("Co Ltd", ["co"]),
        ("Foo Company Limited Co", ["foo"]),
        ("Foo Sdn Bhd", ["foo"]),
        ("PT CV Foo Co", ["foo"]),
    ],
)
def test_legal_forms_are_stripped(name, words):
    assert name_words(name) == words
    assert name_words(name) == _strip_by_scanning(normalise.words(name))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("DongGuan HuaMei", ["dong", "guan", "hua", "mei"]),
        (
            "a1bC2 A&B abcDEF ABCdef x&&y",
            ["a1b", "c2", "a", "and", "b", "abc", "def", "abcdef", "x", "and", "and", "y"],
        ),
        ("McDonald's", ["mc", "donald", "s"]),
        ("Công ty TNHH Việt Tiến", ["cong", "ty", "tnhh", "viet", "tien"]),
    ],
)
def test_tokens_are_lowercase_ascii_words(text, words):
    assert tokens(text) == words


def _tokens_in_three_passes(text: str) -> list[str]:
    """What tokens() did before its one-pass regex: transliterate (Chinese syllables split
    at lower/upper case), lowercase, "&" as "and", anything else but letters and digits a
    space."""
    ascii_text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", to_ascii(text))
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.lower().replace("&", " and ")).split()


def test_tokens_split_as_the_three_passes_did():
    rng = random.Random(4)
    alphabet = "aAzZ09 &._-'ÖöİıŞşĐđ华美号ǅǄǆß\u0300\uff21\t"
    texts = [
        "东莞华美制衣有限公司",
        *("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(5000)),
    ]
    for text in texts:
        assert tokens(text) == _tokens_in_three_passes(text), text


def test_legal_forms_strip_as_the_plain_scan_did_for_any_mix_of_their_words():
    rng = random.Random(7)
    vocabulary = sorted({w for form in (*_LEGAL_SUFFIXES, *_LEGAL_PREFIXES) for w in form})
    vocabulary += ["huamei", "mill", "12"]
    for _ in range(20000):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 9))]
        assert _strip(list(words)) == _strip_by_scanning(list(words)), words
