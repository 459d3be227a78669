"""One factory, whatever the script (issue 18): the normaliser per script, and supplier lists
uploaded through the pages that name stored factories in another script."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from suppliers.importing.matching import CountryIndex, Probe, find
from suppliers.importing.normalise import (
    city_key,
    match_keys,
    name_parts,
    places_of,
    row_key,
    skeleton,
)
from suppliers.models import Factory, SupplierImport, SupplierImportRow
from tests.conftest import client_for

Outcome = SupplierImportRow.Outcome


# --- The normaliser, per script ------------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "latin"),
    [
        # Chinese: pinyin joined or spaced, with tones or without, legal forms either way.
        ("华美制衣有限公司", "Huamei Garment Co., Ltd."),
        ("华美制衣有限公司", "Hua Mei Garment Company Limited"),
        ("华美制衣有限公司", "Huáměi Zhìyī Co Ltd"),
        ("华美服装股份有限公司", "HUAMEI CLOTHING CO LTD"),
        ("華美製衣有限責任公司", "Huamei Garment Co., Ltd."),  # traditional characters
        ("重庆长安服装厂", "Chongqing Changan Garment Factory"),  # 重 chong, 长 chang here
        # Vietnamese, with and without diacritics, in Vietnamese or English.
        ("Công ty TNHH May Mặc Việt Tiến", "Viet Tien Garment Co., Ltd."),
        ("Công ty TNHH May Mặc Việt Tiến", "CONG TY TNHH MAY MAC VIET TIEN"),
        ("Công ty Cổ phần Dệt may Hòa Bình", "Hoa Binh Textile & Garment J.S.C."),
        ("Tổng Công ty Giày Da Hưng Phát", "Hung Phat Footwear Corporation"),
        # Turkish letters folded, legal forms in Turkish or English.
        ("Özdemir Tekstil San. ve Tic. A.Ş.", "Ozdemir Textile Industry and Trade Inc."),
        ("Çağlar Konfeksiyon Ltd. Şti.", "CAGLAR GARMENT LTD"),
        ("Yıldız Örme Sanayi ve Ticaret Anonim Şirketi", "Yildiz Knitting A.S."),
        # Bengali, Hindi, Urdu, Khmer: transliterated (same consonants, see below).
        ("ঢাকা নিটওয়্যার লিমিটেড", "Dhaka Knitwear Ltd."),
        # Indonesian, Indian, Pakistani, Cambodian legal forms.
        ("PT Sinar Abadi Garmindo Tbk", "P.T. SINAR ABADI GARMINDO"),
        ("Arvind Textiles Private Limited", "ARVIND TEXTILES PVT. LTD."),
        ("Nishat Mills (Pvt.) Ltd.", "Nishat Mills Limited"),
        ("Yida Garment (Cambodia) Co., Ltd.", "Yida Garment Co Ltd"),
        ("Ica Textil S.A.C.", "ICA TEXTIL SAC"),
        ("Anatolia Denim GmbH", "Anatolia Denim"),
    ],
)
def test_a_name_in_its_script_and_in_latin_script_has_one_key(native, latin):
    a, b = name_parts(native), name_parts(latin)
    assert (a.full, a.kinds) == (b.full, b.kinds)


def test_chinese_city_prefix_is_a_place_when_the_address_names_it():
    key = name_parts("东莞华美制衣有限公司", places_of("广东省东莞市虎门镇银龙路18号"))
    assert (key.core, key.full, key.kinds) == ("huamei", "dongguanhuamei", {"garment"})
    assert name_parts("Dongguan Huamei Garment Co., Ltd.").full == "dongguanhuamei"
    assert city_key("东莞市") == city_key("Dongguan City") == "dongguan"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Huamei Garment No.1 Factory", "华美制衣第二厂"),
        ("Arvind Mill 12", "Arvind Mill 15"),
        ("Rahman Textiles Unit-1", "Rahman Textiles Unit II"),
    ],
)
def test_numbers_stay_in_the_key(a, b):
    assert name_parts(a).full != name_parts(b).full


def test_numbers_are_read_in_any_form():
    assert name_parts("华美制衣第二厂").full == name_parts("Huamei Garment No. 2 Factory").full
    assert name_parts("Mill Unit II").full == name_parts("Mill Unit 2").full == "2"


def test_generic_words_are_kinds_not_names():
    garment = name_parts("Sunshine Garments Ltd")
    knit = name_parts("Sunshine Knitwear Ltd")
    assert garment.core == knit.core == "sunshine"
    assert (garment.kinds, knit.kinds) == ({"garment"}, {"knit"})
    for generic in ("服装有限公司", "Công ty TNHH May Mặc", "Tekstil A.Ş.", "Textile Co., Ltd."):
        assert name_parts(generic).weak


def test_transliterations_meet_on_their_consonants():
    assert skeleton(name_parts("চট্টগ্রাম পোশাক শিল্প লিমিটেড").core) == skeleton("chattogram")
    assert skeleton(name_parts("यमुना स्पिनिंग").core) == skeleton("jamuna")
    assert city_key("Chittagong") == city_key("Chattogram")
    assert city_key("Thành phố Hồ Chí Minh") == city_key("Ho Chi Minh City") == "hochiminh"


def _found(stored: tuple[str, str, str, str], row: dict[str, str]) -> str:
    index = CountryIndex()
    name, latin, akey = match_keys(stored[0], stored[1], stored[2])
    index.add_factory(1, name, latin, akey, stored[3])
    match = find(index, Probe.of(row))
    return "matched" if match.factory_id == 1 else "proposed" if match.candidate_id else ""


def test_a_generic_name_in_another_city_is_another_factory():
    stored = ("宁波纺织有限公司", "", "", "Ningbo")
    row = {"name": "Ningbo Textile Co., Ltd.", "address": "", "city": "Ningbo", "country": "CN"}
    assert _found(stored, row) == "matched"
    assert _found(stored, {**row, "city": "Shaoxing"}) == ""
    assert _found(stored, {**row, "name": "Ningbo Garment Co., Ltd."}) == "proposed"


def test_sister_factories_of_a_group_are_never_matched_automatically():
    stored = ("东莞华美制衣有限公司", "", "", "Dongguan")
    row = {"name": "Dongguan Huamei Printing Co., Ltd.", "city": "Dongguan", "country": "CN"}
    assert _found(stored, {**row, "address": ""}) == "proposed"
    assert _found(stored, {**row, "name": "Shahi Exports", "address": ""}) == ""


def test_in_file_repeats_share_a_row_key_across_spellings():
    a = row_key(name="Công ty TNHH May Mặc Việt Tiến", address="", country="VN", city="Hà Nội")
    b = row_key(name="CONG TY TNHH MAY MAC VIET TIEN", address="", country="VN", city="Ha Noi")
    c = row_key(name="Viet Tien Garment Co., Ltd.", address="", country="VN", city="Hanoi")
    d = row_key(name="Viet Tien Garment Co., Ltd.", address="", country="VN", city="Da Nang")
    assert a == b == c != d


# --- Through the pages -------------------------------------------------------------------


@pytest.fixture
def registry(db):
    """Factories stored in their own script, as the demo's are (no Latin name for most)."""
    specs = [
        ("东莞华美制衣有限公司", "", "广东省东莞市虎门镇龙眼工业区银龙路18号", "Dongguan", "CN"),
        ("宁波海天纺织有限公司", "", "浙江省宁波市鄞州区姜山镇科技园路66号", "", "CN"),
        (
            "Công ty Cổ phần Dệt may Hòa Bình",
            "",
            "Số 25 Phố Minh Khai, Hai Bà Trưng",
            "Hà Nội",
            "VN",
        ),
        ("চট্টগ্রাম পোশাক শিল্প লিমিটেড", "", "Road 3, CEPZ, South Halishahar", "চট্টগ্রাম", "BD"),
        (
            "Özdemir Tekstil Sanayi ve Ticaret A.Ş.",
            "",
            "Demirtaş OSB, Mavi Cadde No: 14",
            "Bursa",
            "TR",
        ),
        (
            "Çağlar Konfeksiyon Ltd. Şti.",
            "Caglar Garment Ltd.",
            "Göztepe Mah. No: 27",
            "İstanbul",
            "TR",
        ),
    ]
    return {
        name: Factory.objects.create(
            name=name, name_latin=latin, address=address, city=city, country=country
        )
        for name, latin, address, city, country in specs
    }


LATIN_LIST = """Factory Name,Address,City,Country,Supplier Code
"Dongguan Huamei Garment Co., Ltd.","No. 18 Yinlong Road, Humen Town",Dongguan,China,IDX-CN-0001
"Ningbo Haitian Textile Co., Ltd.","66 Kejiyuan Road, Jiangshan Town",Ningbo,China,IDX-CN-0002
"Hoa Binh Textile & Garment J.S.C.","25 Minh Khai Street",Hanoi,Viet Nam,IDX-VN-0001
Chattogram Garments Limited,"Road 3, Chattogram EPZ",Chittagong,Bangladesh,IDX-BD-0001
OZDEMIR TEKSTIL SAN. VE TIC. A.S.,"Mavi Cadde 14, Osmangazi",Bursa,Turkey,IDX-TR-0001
Caglar Konfeksiyon Limited Sirketi,Bagcilar,Istanbul,Türkiye,IDX-TR-0002
"Công ty TNHH May Mặc Việt Tiến","07 Lê Minh Xuân, Tân Bình",Hồ Chí Minh,Viet Nam,IDX-VN-0002
"CONG TY TNHH MAY MAC VIET TIEN","07 Le Minh Xuan, Tan Binh",Ho Chi Minh,Viet Nam,IDX-VN-0002
"Viet Tien Garment Co., Ltd.","7 Le Minh Xuan Street",Ho Chi Minh City,Vietnam,IDX-VN-0002
"""


def _upload_through_the_page(client, brand, text: str) -> SupplierImport:
    response = client.post(
        reverse("suppliers:import_new"),
        {
            "brand": brand.pk,
            "mode": "additions",
            "file": SimpleUploadedFile("season.csv", text.encode("utf-8")),
            "encoding": "",
        },
    )
    assert response.status_code == 302
    return SupplierImport.objects.latest("pk")


def test_latin_names_of_factories_stored_in_their_own_script_are_found(
    registry, brand, brand_staff
):
    client = client_for(brand_staff)
    supplier_import = _upload_through_the_page(client, brand, LATIN_LIST)
    rows = {r.line: r for r in supplier_import.rows.all()}
    found = {line: rows[line].factory_id or rows[line].candidate_id for line in range(2, 8)}
    assert found == {
        2: registry["东莞华美制衣有限公司"].pk,
        3: registry["宁波海天纺织有限公司"].pk,
        4: registry["Công ty Cổ phần Dệt may Hòa Bình"].pk,
        5: registry["চট্টগ্রাম পোশাক শিল্প লিমিটেড"].pk,
        6: registry["Özdemir Tekstil Sanayi ve Ticaret A.Ş."].pk,
        7: registry["Çağlar Konfeksiyon Ltd. Şti."].pk,
    }
    # Certain where the name and the city agree; the Bengali name only sounds alike.
    assert {line: rows[line].outcome for line in (2, 3, 4, 6, 7)} == dict.fromkeys(
        (2, 3, 4, 6, 7), Outcome.MATCHED
    )
    assert rows[5].outcome == Outcome.REVIEW
    # Việt Tiến three times (diacritics, none, in English): one new factory, two repeats.
    assert rows[8].outcome == Outcome.NEW
    assert [(rows[n].outcome, rows[n].duplicate_of) for n in (9, 10)] == [
        (Outcome.UNCHANGED, 8),
        (Outcome.UNCHANGED, 8),
    ]
    page = client.get(supplier_import.get_absolute_url()).text
    assert "Same factory as row 8" in page
    assert "Perhaps “চট্টগ্রাম পোশাক শিল্প লিমিটেড”" in page

    row = rows[5]
    response = client.post(
        reverse("suppliers:import_decide", args=[supplier_import.pk, row.pk]), {"same": "yes"}
    )
    assert response.status_code in (200, 302)
    client.post(reverse("suppliers:import_confirm", args=[supplier_import.pk]))
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.DONE
    # One factory added (Việt Tiến), none duplicated.
    assert Factory.objects.count() == len(registry) + 1
    assert Factory.objects.filter(name__contains="Việt Tiến").count() == 1


def test_native_script_rows_find_factories_stored_in_latin_script(brand, brand_staff):
    stored = Factory.objects.create(
        name="Dongguan Huamei Garment Co., Ltd.",
        address="No. 18 Yinlong Road, Humen Town",
        city="Dongguan",
        country="CN",
    )
    text = "Name,Address,City,Country\n东莞华美制衣有限公司,虎门镇银龙路18号,东莞市,CN\n"
    supplier_import = _upload_through_the_page(client_for(brand_staff), brand, text)
    row = supplier_import.rows.get()
    assert (row.outcome, row.factory_id) == (Outcome.MATCHED, stored.pk)
