import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from score_portal.scope import scope_of
from tests.conftest import client_for
from tests.factories import FactoryFactory
from tests.tenancy import status_for
from training.models import Cohort, KPIDefinition, KPIReading, Module
from training.services import enrol_factory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("brand_staff", 200),  # brand A funds it
        ("other_brand_staff", 404),
        ("factory_manager", 200),
        ("other_factory_manager", 404),
        ("trainer", 200),
        ("provider_staff", 200),
        (None, 302),
    ],
)
def test_enrolment_detail_access(request, world, persona, expected):
    url = reverse("training:enrolment_detail", args=[world.enrolment.pk])
    assert status_for(request, persona, url) == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("trainer", 200),
        ("provider_staff", 200),
        ("brand_staff", 404),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        (None, 302),
    ],
)
def test_cohort_detail_access(request, world, persona, expected):
    url = reverse("training:cohort_detail", args=[world.cohort.pk])
    assert status_for(request, persona, url) == expected


@pytest.mark.parametrize("persona", ["brand_staff", "factory_manager", "trainer", "ilo_admin"])
def test_module_catalogue_is_open_to_every_signed_in_person(request, world, persona):
    assert status_for(request, persona, reverse("training:module_list")) == 200


def test_module_catalogue_needs_sign_in(db):
    assert client_for(None).get(reverse("training:module_list")).status_code == 302


def test_enrolment_list_is_scoped(world, brand_staff, other_brand_staff):
    own = client_for(brand_staff).get(reverse("training:enrolment_list")).text
    assert world.factory.name in own
    assert world.other_factory.name not in own
    other = client_for(other_brand_staff).get(reverse("training:enrolment_list")).text
    assert world.other_factory.name in other
    assert world.factory.name not in other


def test_kpi_readings_belong_to_the_factory(world, brand_staff, factory_manager):
    kpi = KPIDefinition.objects.get(code="absenteeism")
    KPIReading.objects.create(
        enrolment=world.enrolment, kpi=kpi, kind="baseline", value="7.25", measured_on="2026-01-10"
    )
    url = world.enrolment.get_absolute_url()
    cell = f"<td>7.25 {kpi.unit}</td>"  # the reading's own cell, never part of a timestamp
    assert cell in client_for(factory_manager).get(url).text
    # The funding brand sees the enrolment, not the factory's raw KPI data.
    brand_page = client_for(brand_staff).get(url).text
    assert cell not in brand_page
    assert "Absenteeism" not in brand_page


def test_enrolment_list_query_count_does_not_grow_with_rows(world, module_1, brand_staff):
    def count_queries() -> int:
        client = client_for(brand_staff)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("training:enrolment_list")).status_code == 200
        return len(ctx.captured_queries)

    small = count_queries()
    world.partnership.factory_quota = 100
    world.partnership.save()
    for _ in range(20):
        enrol_factory(
            factory=FactoryFactory(),
            module=module_1,
            partnership=world.partnership,
            enrolled_by=brand_staff,
        )
    assert count_queries() == small


# --- Enrolling, acting on an enrolment, the matrix ----------------------------------------

import datetime as _dt  # noqa: E402

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402

from suppliers.services import link_supplier  # noqa: E402
from training.models import Enrolment  # noqa: E402
from training.services import enrolment as enrolment_services  # noqa: E402
from training.services import kpis as kpi_services  # noqa: E402


def test_brand_enrols_two_suppliers_and_sees_each_result(world, brand, brand_staff, module_1):
    first = FactoryFactory(name="First Factory")
    second = FactoryFactory(name="Second Factory")
    link_supplier(brand=brand, factory=first, supplier_code="A-101")
    link_supplier(brand=brand, factory=second, supplier_code="A-102")
    client = client_for(brand_staff)
    page = client.get(reverse("training:enrol"))
    assert page.status_code == 200
    assert "First Factory" in page.text
    assert world.other_factory.name not in page.text
    response = client.post(
        reverse("training:enrol"),
        {
            "factories": [first.pk, second.pk, world.factory.pk],
            "module": module_1.pk,
            "partnership": world.partnership.pk,
        },
    )
    assert response.status_code == 200
    assert response.context["enrolled"] == 2
    assert "already enrolled in Workplace Cooperation" in response.text
    assert Enrolment.objects.filter(factory__in=[first, second]).count() == 2


def test_enrol_by_csv_of_supplier_codes(world, brand, brand_staff, module_1):
    coded = FactoryFactory(name="Coded Factory")
    link_supplier(brand=brand, factory=coded, supplier_code="A-777")
    upload = SimpleUploadedFile("codes.csv", b"\xef\xbb\xbfsupplier_code\r\nA-777\r\n", "text/csv")
    response = client_for(brand_staff).post(
        reverse("training:enrol"),
        {"codes_file": upload, "module": module_1.pk, "partnership": world.partnership.pk},
    )
    assert response.context["enrolled"] == 1
    assert Enrolment.objects.filter(factory=coded).exists()


@pytest.mark.parametrize(
    "content",
    [
        # Chinese Excel's "Unicode text": UTF-16 LE with its BOM, tab-separated, CRLF:
        # "Supplier code<TAB>工厂" / "A-777<TAB>中国" / "A-778<TAB>中国"
        b"\xff\xfe"
        + "Supplier code\t".encode("utf-16-le")
        + b"\xe5\x5d\x82\x53\r\x00\n\x00"
        + b"A\x00-\x007\x007\x007\x00\t\x00\x2d\x4e\xfd\x56\r\x00\n\x00"
        + b"A\x00-\x007\x007\x008\x00\t\x00\x2d\x4e\xfd\x56\r\x00\n\x00",
        # Without the BOM, and with a Chinese header: 供应商代码 ("supplier code").
        "供应商代码\t工厂\r\nA-777\t中国\r\nA-778\t中国\r\n".encode("utf-16-le"),
        # GB18030 with a Chinese note in the second column: 工厂 / 中国
        b"Supplier code,\xb9\xa4\xb3\xa7\r\nA-777,\xd6\xd0\xb9\xfa\r\nA-778,\xd6\xd0\xb9\xfa\r\n",
    ],
    ids=["utf-16-bom", "utf-16-no-bom", "gb18030"],
)
def test_enrol_by_a_supplier_code_file_in_any_encoding_excel_writes(
    world, brand, brand_staff, module_1, content
):
    """A UTF-16 file once ended in a 500: no decoding fitted and the text was unbound."""
    first, second = FactoryFactory(name="First Coded"), FactoryFactory(name="Second Coded")
    link_supplier(brand=brand, factory=first, supplier_code="A-777")
    link_supplier(brand=brand, factory=second, supplier_code="A-778")
    response = client_for(brand_staff).post(
        reverse("training:enrol"),
        {
            "codes_file": SimpleUploadedFile("codes.txt", content, "text/plain"),
            "module": module_1.pk,
            "partnership": world.partnership.pk,
        },
    )
    assert response.status_code == 200
    assert response.context["enrolled"] == 2
    assert set(
        Enrolment.objects.filter(module=module_1).values_list("factory__name", flat=True)
    ) >= {
        "First Coded",
        "Second Coded",
    }


def test_a_first_line_that_is_one_of_the_brands_codes_is_no_header(
    world, brand, brand_staff, module_1
):
    """A first line without digits looks like a header, but if it is one of the brand's own
    codes it is a code."""
    first, second = FactoryFactory(name="Acme Knits"), FactoryFactory(name="Second Coded")
    link_supplier(brand=brand, factory=first, supplier_code="ACME")
    link_supplier(brand=brand, factory=second, supplier_code="A-778")
    response = client_for(brand_staff).post(
        reverse("training:enrol"),
        {
            "codes_file": SimpleUploadedFile("codes.csv", b"ACME\r\nA-778\r\n", "text/csv"),
            "module": module_1.pk,
            "partnership": world.partnership.pk,
        },
    )
    assert response.context["enrolled"] == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"codes_file": ("codes.csv", b"B-001\nNOPE\n")}, "Not on your supplier list: B-001, NOPE"),
        (
            {"codes_file": ("codes.csv", b"\x00\x01binary")},
            "This file is not a CSV or XLSX file (it contains binary data).",
        ),
        ({"codes_file": ("codes.csv", b"")}, "The submitted file is empty."),
        ({"codes_file": ("codes.csv", bytes(range(0x80, 0x100)) * 4)}, "could not be recognised"),
        ({"codes_file": ("codes.pdf", b"%PDF-1.4\n")}, "Upload a .csv, .txt or .xlsx file."),
        ({"codes_file": ("codes.csv", b"Supplier code\r\n")}, "The file has no supplier codes."),
        ({}, "Choose at least one supplier"),
    ],
)
def test_enrol_garbage_is_explained_and_writes_nothing(
    world, brand_staff, module_1, payload, message
):
    data = {"module": module_1.pk, "partnership": world.partnership.pk}
    if "codes_file" in payload:
        name, content = payload["codes_file"]
        data["codes_file"] = SimpleUploadedFile(name, content, "text/csv")
    before = Enrolment.objects.count()
    response = client_for(brand_staff).post(reverse("training:enrol"), data)
    assert response.status_code == 400
    assert message in response.text
    assert Enrolment.objects.count() == before


def test_enrol_refuses_another_brands_partnership(world, brand_staff, module_1):
    response = client_for(brand_staff).post(
        reverse("training:enrol"),
        {
            "factories": [world.factory.pk],
            "module": module_1.pk,
            "partnership": world.other_partnership.pk,
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.text


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("brand_viewer", 403), ("factory_manager", 403), ("trainer", 403), (None, 302)],
)
def test_enrol_page_is_for_acting_brand_staff(request, world, persona, expected):
    assert status_for(request, persona, reverse("training:enrol")) == expected


def _cohort(world, trainer, module, city, *, days=30, capacity=5):
    from training.services import certify_trainer, create_cohort

    certify_trainer(trainer=trainer, module=module, certified_on=_dt.date(2024, 1, 15))
    return create_cohort(
        module=module,
        provider=world.cohort.provider,
        trainer=trainer,
        venue_city=city,
        venue_country="BD",
        language="en",
        classroom_start=_dt.date.today() + _dt.timedelta(days=days),
        classroom_end=_dt.date.today() + _dt.timedelta(days=days + 1),
        capacity=capacity,
    )


def test_enrol_offers_the_chosen_modules_cohorts_only(world, brand_staff, trainer, module_1):
    module_2 = Module.objects.get(code="M2")
    dhaka = _cohort(world, trainer, module_2, "Dhaka")
    _cohort(world, trainer, module_1, "Gazipur", days=-3)  # classroom already started
    client = client_for(brand_staff)

    def offered(response):
        return {
            int(v)
            for v in response.context["form"].fields["cohort"].queryset.values_list("pk", flat=True)
        }

    # No module chosen yet, no cohort to choose; a module's upcoming ones, never one whose
    # classroom has started. Without JavaScript the page is opened with ?module= (the
    # module links); with it, the choice is swapped in place when the module changes.
    page = client.get(reverse("training:enrol"))
    assert offered(page) == set()
    assert f'href="?brand={world.partnership.partner_id}&amp;module={module_2.pk}"' in page.text
    assert offered(client.get(reverse("training:enrol") + f"?module={module_2.pk}")) == {dhaka.pk}
    assert offered(client.get(reverse("training:enrol") + f"?module={module_1.pk}")) == {
        world.cohort.pk
    }
    swapped = client.get(reverse("training:enrol_cohorts") + f"?module={module_1.pk}")
    assert swapped.status_code == 200
    assert swapped.text.startswith('<select name="cohort"')
    assert 'id="id_cohort"' in swapped.text
    assert "Dongguan" in swapped.text
    assert "Dhaka" not in swapped.text
    # The module choice asks for it.
    page = client.get(reverse("training:enrol")).text
    assert f'hx-get="{reverse("training:enrol_cohorts")}"' in page


@pytest.mark.parametrize(("with_module", "offered"), [(True, 1), (False, 0)])
def test_a_refused_form_offers_the_chosen_modules_cohorts(
    world, brand_staff, trainer, module_1, with_module, offered
):
    _cohort(world, trainer, Module.objects.get(code="M2"), "Dhaka")
    data = {"partnership": world.partnership.pk}  # and no supplier chosen: refused
    if with_module:
        data["module"] = module_1.pk
    response = client_for(brand_staff).post(reverse("training:enrol"), data)
    assert response.status_code == 400
    cohorts = response.context["form"].fields["cohort"].queryset
    assert list(cohorts) == [world.cohort][:offered]


@pytest.mark.parametrize("garbage", ["", "abc", "-1", "99999999", "9" * 40, "1 OR 1=1"])
def test_enrol_cohorts_with_garbage_offers_no_cohort(world, brand_staff, garbage):
    response = client_for(brand_staff).get(reverse("training:enrol_cohorts"), {"module": garbage})
    assert response.status_code == 200
    assert response.text.count("<option") == 1  # "None yet"
    assert "Dongguan" not in response.text


def test_a_cohort_of_another_module_cannot_be_sent(world, brand, brand_staff, trainer, module_1):
    dhaka = _cohort(world, trainer, Module.objects.get(code="M2"), "Dhaka")
    fresh = FactoryFactory(name="Fresh Factory")
    link_supplier(brand=brand, factory=fresh)
    response = client_for(brand_staff).post(
        reverse("training:enrol"),
        {
            "factories": [fresh.pk],
            "module": module_1.pk,
            "partnership": world.partnership.pk,
            "cohort": dhaka.pk,
        },
    )
    assert response.status_code == 400
    assert "That cohort teaches a different module." in response.text
    assert not Enrolment.objects.filter(factory=fresh).exists()
    # Shown again, the form offers the chosen module's cohorts.
    offered = response.context["form"].fields["cohort"].queryset
    assert list(offered) == [world.cohort]


def test_cohort_choices_say_where_when_who_and_places_left(world, brand_staff, trainer, module_1):
    _cohort(world, trainer, module_1, "Gazipur", capacity=1)
    full = Enrolment.objects.filter(pk=world.enrolment.pk)
    full.update(cohort=Cohort.objects.get(venue_city="Gazipur"))  # its one place taken
    text = (
        client_for(brand_staff).get(reverse("training:enrol_cohorts"), {"module": module_1.pk}).text
    )
    start = world.cohort.classroom_start.isoformat()
    assert f"Workplace Cooperation · Dongguan, CN · {start} · Provider P · 5 places left" in text
    assert "· Gazipur, BD ·" in text
    assert "Provider P · full" in text


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("brand_viewer", 403), ("factory_manager", 403), ("trainer", 403), (None, 302)],
)
def test_enrol_cohorts_is_for_acting_brand_staff(request, world, persona, expected):
    assert status_for(request, persona, reverse("training:enrol_cohorts")) == expected


def test_enrol_page_says_when_it_lists_part_of_the_suppliers(
    world, brand, brand_staff, monkeypatch
):
    from training.views import enrolments as views

    for n in range(3):
        link_supplier(brand=brand, factory=FactoryFactory(name=f"Listed {n}"))
    client = client_for(brand_staff)
    assert 'data-testid="picker-limit"' not in client.get(reverse("training:enrol")).text
    monkeypatch.setattr(views, "ENROL_PICKER_ROWS", 2)
    page = client.get(reverse("training:enrol"))
    assert len(page.context["suppliers"]) == 2
    assert "The first 2 of your 4 suppliers are listed." in page.text
    # Filtered, the count is the filter's.
    narrowed = client.get(reverse("training:enrol"), {"q": "Listed"})
    assert "The first 2 of your 3 suppliers are listed." in narrowed.text


@pytest.mark.parametrize(("persona", "offered"), [("brand_staff", True), ("brand_viewer", False)])
def test_matrix_offers_enrolling_to_those_who_may(request, world, brand, persona, offered):
    client = client_for(request.getfixturevalue(persona))
    page = client.get(reverse("training:matrix")).text
    link = f'href="{reverse("training:enrol")}?brand={brand.pk}"'
    assert (link in page) is offered
    if offered:
        assert client.get(reverse("training:enrol"), {"brand": brand.pk}).status_code == 200


def test_other_brand_cannot_pick_brand_a(world, other_brand_staff, brand):
    url = reverse("training:enrol") + f"?brand={brand.pk}"
    assert client_for(other_brand_staff).get(url).status_code == 404


@pytest.mark.parametrize(
    ("persona", "action", "expected"),
    [
        ("other_brand_staff", "confirm", 404),
        ("other_factory_manager", "confirm", 404),
        ("other_brand_staff", "withdraw", 404),
        (None, "confirm", 302),
        ("factory_manager", "no-such-action", 404),
    ],
)
def test_enrolment_actions_are_scoped(request, world, persona, action, expected):
    user = request.getfixturevalue(persona) if persona else None
    url = reverse("training:enrolment_act", args=[world.enrolment.pk, action])
    assert client_for(user).post(url, {"reason": "x"}).status_code == expected
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "pending"


def test_brand_cannot_confirm_for_the_factory(world, brand_staff):
    url = reverse("training:enrolment_act", args=[world.enrolment.pk, "confirm"])
    response = client_for(brand_staff).post(url, follow=True)
    assert "Only the factory&#x27;s managers" in response.text
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "pending"


def test_factory_confirms_and_names_participants_through_the_page(world, factory_manager):
    client = client_for(factory_manager)
    client.post(reverse("training:enrolment_act", args=[world.enrolment.pk, "confirm"]))
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "1",
        "form-MAX_NUM_FORMS": "20",
        "form-0-name": "王芳",
        "form-0-role": "manager",
        "form-0-gender": "woman",
        "form-1-name": "陈伟",
        "form-1-role": "worker",
        "form-1-gender": "man",
    }
    page = client.post(
        reverse("training:enrolment_act", args=[world.enrolment.pk, "participants"]),
        data,
        follow=True,
    ).text
    assert "Participants saved." in page
    assert "王芳" in page
    assert "you named 1 managers and 1 workers" in page
    bad = {**data, "form-1-gender": "robot"}
    page = client.post(
        reverse("training:enrolment_act", args=[world.enrolment.pk, "participants"]),
        bad,
        follow=True,
    ).text
    assert "Select a valid choice" in page


def test_trainer_page_shows_delivery_forms_brand_page_does_not(
    world, trainer, brand_staff, factory_manager
):
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    trainer_page = client_for(trainer).get(world.enrolment.get_absolute_url()).text
    assert "Record a visit" in trainer_page
    brand_page = client_for(brand_staff).get(world.enrolment.get_absolute_url()).text
    assert "Record a visit" not in brand_page
    assert "Withdraw this enrolment" in brand_page


def test_brand_sees_kpi_readings_only_with_consent(world, factory_manager, brand_staff, trainer):
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    kpi = KPIDefinition.objects.get(code="absenteeism")
    kpi_services.record_kpi_reading(
        enrolment=world.enrolment,
        actor=trainer,
        kpi=kpi,
        kind="baseline",
        value="9.5",
        measured_on=_dt.date.today(),
    )
    url = world.enrolment.get_absolute_url()
    # The reading's own table cell: a bare "9.5" could also turn up inside a timestamp.
    cell = f"<td>9.5 {kpi.unit}</td>"  # as entered, not "9.500"
    assert cell in client_for(factory_manager).get(url).text
    assert cell not in client_for(brand_staff).get(url).text
    client_for(factory_manager).post(
        reverse("training:enrolment_act", args=[world.enrolment.pk, "consent"]),
        {"consent-shared": "on"},
    )
    assert cell in client_for(brand_staff).get(url).text


def test_matrix_shows_own_suppliers_and_links_cells(world, brand_staff):
    response = client_for(brand_staff).get(reverse("training:matrix"))
    assert response.status_code == 200
    assert world.factory.name in response.text
    assert world.other_factory.name not in response.text
    assert world.enrolment.get_absolute_url() in response.text


def test_matrix_rows_show_each_cell_escaped_and_labelled(world, brand, brand_staff):
    """The rows are written in Python, not by the template: names and codes are escaped,
    each cell carries its status's label and links to its enrolment, an empty one a dash."""
    evil = FactoryFactory(name="<b>Ateliers & Fils</b>", country="TR")
    link_supplier(brand=brand, factory=evil, supplier_code='"><script>x</script>')
    html = client_for(brand_staff).get(reverse("training:matrix")).text
    assert "<b>Ateliers" not in html and "<script>x" not in html
    assert "&lt;b&gt;Ateliers &amp; Fils&lt;/b&gt;" in html
    assert "&quot;&gt;&lt;script&gt;x&lt;/script&gt;" in html
    assert "Türkiye" in html or "Turkey" in html  # the country by name, not its code
    enrolment = world.enrolment
    assert (
        f'<a class="badge badge-{enrolment.status}" href="{enrolment.get_absolute_url()}">'
        f"{enrolment.get_status_display()}</a>"
    ) in html
    row = next(line for line in html.splitlines() if "Ateliers" in line)
    assert row.count('<span class="muted">\u2014</span>') == 1  # no enrolment in Module 1


def test_matrix_cell_of_a_status_without_a_label_shows_its_code_escaped():
    """A status the labels do not know (none today: a status added to the database before
    the code) still renders, by its code, escaped like every other value; braces in it are
    text, not places for the enrolment's id."""
    from training.selectors import MatrixCell, MatrixRow, MatrixSupplier
    from training.views.enrolments import _rows_html

    row = MatrixRow(
        MatrixSupplier(7, "A-7", "Mill & Co", "BD"),
        [MatrixCell(41, "on_<hold>{0}"), MatrixCell(42, "completed"), None],
    )
    html = str(_rows_html([row]))
    assert (
        'class="badge badge-on_&lt;hold&gt;{0}" href="/training/enrolments/41/">on_&lt;hold&gt;{0}'
        in html
    )
    assert 'href="/training/enrolments/42/">Completed</a>' in html
    assert "Mill &amp; Co" in html and "Bangladesh" in html


def test_matrix_columns_are_the_modules_of_the_users_partnerships(
    world, brand_staff, ilo_admin, module_1
):
    """A brand sees the modules its partnerships cover; the ILO, every partnership's; a
    brand whose partnerships cover none, the whole active catalogue."""
    from training.selectors import matrix_modules

    assert [m.code for m in matrix_modules(scope_of(brand_staff))] == ["M1"]
    module_2 = Module.objects.exclude(pk=module_1.pk).filter(is_active=True).first()
    world.other_partnership.modules.add(module_2)
    assert [m.code for m in matrix_modules(scope_of(brand_staff))] == [
        "M1"
    ]  # brand B's, not theirs
    assert {m.code for m in matrix_modules(scope_of(ilo_admin))} == {"M1", module_2.code}
    world.partnership.modules.clear()
    everything = Module.objects.filter(is_active=True).order_by("sort_order", "code")
    assert [m.code for m in matrix_modules(scope_of(brand_staff))] == [m.code for m in everything]


def test_matrix_csv_export_is_safe_for_excel(world, brand, brand_staff):
    evil = FactoryFactory(name='=HYPERLINK("http://x")')
    link_supplier(brand=brand, factory=evil, supplier_code="+A-1")
    response = client_for(brand_staff).get(reverse("training:matrix_csv"))
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    assert "'=HYPERLINK" in content
    assert "'+A-1" in content
    assert "Awaiting factory confirmation" in content
    assert world.other_factory.name not in content


def test_matrix_csv_reads_the_list_once_in_chunks(world, brand, brand_staff, monkeypatch):
    """Every supplier once, in the page's order, without OFFSET pages (which re-read every
    row before them: 29 s for 100,000 suppliers)."""
    from training.views import enrolments

    monkeypatch.setattr(enrolments, "MATRIX_CSV_CHUNK", 2)
    names = [f"Mill {n}" for n in range(5)]
    for name in names:
        link_supplier(brand=brand, factory=FactoryFactory(name=name), supplier_code=name)
    with CaptureQueriesContext(connection) as ctx:
        response = client_for(brand_staff).get(reverse("training:matrix_csv"))
        content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))[1:]
    expected = sorted([*names, world.factory.name])
    assert [row[1] for row in rows] == expected
    assert not any("OFFSET" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.parametrize("persona", ["factory_manager", "trainer", None])
def test_matrix_is_for_brands(request, world, persona):
    expected = 302 if persona is None else 404
    assert status_for(request, persona, reverse("training:matrix")) == expected


def test_matrix_links_to_the_impact_page_and_reads_no_kpi(world, brand_staff):
    with CaptureQueriesContext(connection) as ctx:
        response = client_for(brand_staff).get(reverse("training:matrix"))
    assert reverse("training:impact") in response.text
    assert not any("training_kpireading" in q["sql"] for q in ctx.captured_queries)


def test_matrix_filters_by_country_and_search(world, brand, brand_staff):
    turkish = FactoryFactory(name="Bursa Örme", country="TR", city="Bursa")
    link_supplier(brand=brand, factory=turkish, supplier_code="A-002")
    url = reverse("training:matrix")
    page = client_for(brand_staff).get(url, {"country": "TR"}).text
    assert turkish.name in page and world.factory.name not in page
    assert world.other_factory.name not in page  # Turkish too, but brand B's
    page = client_for(brand_staff).get(url, {"q": "Huamei"}).text
    assert world.factory.name in page and turkish.name not in page


def _record_baseline(world, trainer, factory_manager, value: str) -> None:
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    kpi_services.record_kpi_reading(
        enrolment=world.enrolment,
        actor=trainer,
        kpi=KPIDefinition.objects.get(code="absenteeism"),
        kind="baseline",
        value=value,
        measured_on=_dt.date.today(),
    )


def test_impact_page_withholds_one_factorys_values(world, brand_staff, trainer, factory_manager):
    _record_baseline(world, trainer, factory_manager, "9.5")
    page = client_for(brand_staff).get(reverse("training:impact")).text
    assert "Absenteeism" in page
    assert "9.5" not in page  # one factory reporting: its value would be the "average"


def test_impact_page_shows_another_brand_nothing(
    world, other_brand_staff, trainer, factory_manager
):
    _record_baseline(world, trainer, factory_manager, "9.5")
    response = client_for(other_brand_staff).get(reverse("training:impact"))
    assert response.status_code == 200
    assert "9.50" not in response.text
    assert "No KPI reading yet." in response.text


def test_impact_page_refuses_another_brands_id(world, brand, other_brand_staff):
    url = reverse("training:impact") + f"?brand={brand.pk}"
    assert client_for(other_brand_staff).get(url).status_code == 404


@pytest.mark.parametrize("persona", ["factory_manager", "trainer", None])
def test_impact_page_is_for_brands(request, world, persona):
    expected = 302 if persona is None else 404
    assert status_for(request, persona, reverse("training:impact")) == expected


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_matrix_and_factory_home_query_counts_do_not_grow(
    world, brand, brand_staff, module_1, factory_manager, trainer
):
    brand_client, manager_client = client_for(brand_staff), client_for(factory_manager)
    matrix_small, home_small = (
        _count(brand_client, reverse("training:matrix")),
        _count(manager_client, "/"),
    )
    world.partnership.factory_quota = 100
    world.partnership.save()
    for n in range(15):
        factory = FactoryFactory()
        link_supplier(brand=brand, factory=factory, supplier_code=f"A-5{n:02}")
        enrolment_services.enrol_factory(
            factory=factory, module=module_1, partnership=world.partnership, enrolled_by=None
        )
    # The factory manager's own factory gains modules, visits and readings.
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    enrolment_services.record_visit(
        enrolment=world.enrolment, actor=trainer, kind="baseline", visited_on=_dt.date.today()
    )
    assert _count(brand_client, reverse("training:matrix")) == matrix_small
    assert _count(manager_client, "/") == home_small


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("provider_staff", 200), ("trainer", 403), ("brand_staff", 403), (None, 302)],
)
def test_cohort_creation_is_for_provider_staff(request, world, persona, expected):
    assert status_for(request, persona, reverse("training:cohort_create")) == expected


def test_uncertified_trainer_is_refused_with_a_clear_message(world, provider_staff, trainer):
    data = {
        "module": Module.objects.get(code="M3").pk,
        "trainer": trainer.pk,
        "venue_city": "Shenzhen",
        "venue_country": "CN",
        "language": "zh-hans",
        "classroom_start": "2027-03-01",
        "classroom_end": "2027-03-02",
        "capacity": "5",
    }
    response = client_for(provider_staff).post(reverse("training:cohort_create"), data)
    assert response.status_code == 400
    assert "is not certified to deliver Clean Production and Resource Efficiency" in response.text
    data["module"] = Module.objects.get(code="M1").pk
    response = client_for(provider_staff).post(reverse("training:cohort_create"), data)
    assert response.status_code == 302
