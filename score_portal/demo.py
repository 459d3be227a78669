"""A small, coherent demo world: one person per role, real-looking partners and factories.

``load_demo_world`` is idempotent: every row is found by its natural key before anything is
created, so ``make run`` can call it on every start. Rows that already exist are left as they
are (a demo visitor's clicks survive a restart); only the demo users' names, languages and
password are brought back to what the command prints, so the printed table never lies.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Membership, Partner, Partnership
from partners.services import add_member
from score_portal.models import User
from suppliers.models import BrandSupplier, Factory
from suppliers.services import add_factory_manager, link_supplier
from training.models import (
    Cohort,
    ConsultingVisit,
    Enrolment,
    KPIDefinition,
    KPIReading,
    Module,
    Participant,
    TrainerCertification,
)
from training.services import certify_trainer, create_cohort, enrol_factory

# Published on purpose (the command prints it); the command refuses to run in production.
DEFAULT_PASSWORD = "score-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    """One demo account, as the command prints it."""

    role: str
    email: str
    name: str
    organisation: str


# --- Partners -----------------------------------------------------------------------------

ILO_NAME = "International Labour Organization"
INDITEX = "Inditex"
ETI = "Ethical Trading Initiative"
TUV = "TÜV Rheinland"
SGS = "SGS"

PARTNERS: list[dict[str, Any]] = [
    {
        "name": INDITEX,
        "kind": Partner.Kind.BRAND,
        "country": "ES",
        "website": "https://www.inditex.com",
    },
    {
        "name": ETI,
        "short_name": "ETI",
        "kind": Partner.Kind.INITIATIVE,
        "country": "GB",
        "website": "https://www.ethicaltrade.org",
    },
    {
        "name": TUV,
        "kind": Partner.Kind.SERVICE_PROVIDER,
        "country": "DE",
        "website": "https://www.tuv.com",
    },
    {
        "name": SGS,
        "kind": Partner.Kind.SERVICE_PROVIDER,
        "country": "CH",
        "website": "https://www.sgs.com",
    },
]

# --- Factories (natural key: the Open Supply Hub ID) ----------------------------------------

HUAMEI = "CN2019067X1K87E"
NINGBO = "CN2020114H7T3QP"
OZDEMIR = "TR2018213B5K2MZ"
CAGLAR = "TR2021045C9G4LW"
SAIGON_XANH = "VN2019288S4X7NA"
HOA_BINH = "VN2020032H2B9DM"
DHAKA_KNITWEAR = "BD2019156D3K8WR"
CHATTOGRAM = "BD2020301C6G2PT"

FACTORIES: list[dict[str, Any]] = [
    {
        "os_id": HUAMEI,
        "name": "东莞华美制衣有限公司",
        "name_latin": "Dongguan Huamei Garment Co., Ltd.",
        "address": "广东省东莞市虎门镇龙眼工业区银龙路18号",
        "city": "Dongguan",
        "country": "CN",
        "sector": Factory.Sector.GARMENTS,
        "product_type": "Woven shirts and blouses",
        "workers_total": 320,
        "workers_women": 231,
        "language": "zh-hans",
    },
    {
        "os_id": NINGBO,
        "name": "宁波海天纺织有限公司",
        "name_latin": "Ningbo Haitian Textile Co., Ltd.",
        "address": "浙江省宁波市鄞州区姜山镇科技园路66号",
        "city": "Ningbo",
        "country": "CN",
        "sector": Factory.Sector.TEXTILES,
        "product_type": "Knitted and dyed fabrics",
        "workers_total": 410,
        "workers_women": 246,
        "language": "zh-hans",
    },
    {
        "os_id": OZDEMIR,
        "name": "Özdemir Tekstil Sanayi ve Ticaret A.Ş.",
        "name_latin": "Ozdemir Textile Industry and Trade Inc.",
        "address": "Demirtaş Organize Sanayi Bölgesi, Mavi Cadde No: 14, 16245 Osmangazi/Bursa",
        "city": "Bursa",
        "country": "TR",
        "sector": Factory.Sector.TEXTILES,
        "product_type": "Denim fabric",
        "workers_total": 260,
        "workers_women": 118,
        "language": "tr",
    },
    {
        "os_id": CAGLAR,
        "name": "Çağlar Konfeksiyon Ltd. Şti.",
        "name_latin": "Caglar Garment Ltd.",
        # The district name is spelt with the Turkish dotless i.
        "address": "Göztepe Mah., Konfeksiyoncular Sitesi 3. Blok No: 27, 34214 Bağcılar/İstanbul",
        "city": "İstanbul",
        "country": "TR",
        "sector": Factory.Sector.GARMENTS,
        "product_type": "Women's dresses and knitwear",
        "workers_total": 140,
        "workers_women": 96,
        "language": "tr",
    },
    {
        "os_id": SAIGON_XANH,
        "name": "Công ty TNHH May Mặc Sài Gòn Xanh",
        "name_latin": "Saigon Xanh Garment Co., Ltd.",
        "address": "Lô C12, Khu công nghiệp Tân Bình, Phường Tây Thạnh, Quận Tân Phú",
        "city": "Hồ Chí Minh",
        "country": "VN",
        "sector": Factory.Sector.GARMENTS,
        "product_type": "Sportswear",
        "workers_total": 520,
        "workers_women": 401,
        "language": "vi",
    },
    {
        "os_id": HOA_BINH,
        "name": "Công ty Cổ phần Dệt may Hòa Bình",
        "name_latin": "Hoa Binh Textile and Garment JSC",
        "address": "Số 25 Phố Minh Khai, Phường Vĩnh Tuy, Quận Hai Bà Trưng",
        "city": "Hà Nội",
        "country": "VN",
        "sector": Factory.Sector.TEXTILES,
        "product_type": "Cotton yarn and woven fabric",
        "workers_total": 380,
        "workers_women": 254,
        "language": "vi",
    },
    {
        "os_id": DHAKA_KNITWEAR,
        "name": "ঢাকা নিটওয়্যার লিমিটেড",
        "name_latin": "Dhaka Knitwear Ltd.",
        "address": "Plot 42, BSCIC Industrial Estate, Konabari, Gazipur 1700",
        "city": "Gazipur",
        "country": "BD",
        "sector": Factory.Sector.GARMENTS,
        "product_type": "T-shirts and polo shirts",
        "workers_total": 480,
        "workers_women": 312,
        "language": "bn",
    },
    {
        "os_id": CHATTOGRAM,
        "name": "চট্টগ্রাম পোশাক শিল্প লিমিটেড",
        "name_latin": "Chattogram Garments Ltd.",
        "address": "Road 3, Chattogram Export Processing Zone, South Halishahar, Chattogram 4223",
        "city": "Chattogram",
        "country": "BD",
        "sector": Factory.Sector.GARMENTS,
        "product_type": "Trousers and jackets",
        "workers_total": 600,
        "workers_women": 405,
        "language": "bn",
    },
]

# Each brand's own code for the factory; Özdemir is on both lists, with a code on each.
SUPPLIER_LINKS: list[tuple[str, str, str]] = [
    (INDITEX, HUAMEI, "IDX-CN-0001"),
    (INDITEX, NINGBO, "IDX-CN-0002"),
    (INDITEX, OZDEMIR, "IDX-TR-0001"),
    (INDITEX, CAGLAR, "IDX-TR-0002"),
    (ETI, DHAKA_KNITWEAR, "ETI-BD-104"),
    (ETI, CHATTOGRAM, "ETI-BD-117"),
    (ETI, SAIGON_XANH, "ETI-VN-203"),
    (ETI, HOA_BINH, "ETI-VN-211"),
    (ETI, OZDEMIR, "ETI-TR-058"),
]

# --- Partnership titles (natural key with the partner) --------------------------------------

INDITEX_PILOT = "Inditex SCORE pilot in Türkiye and China"
# The en dashes are typographic, as the titles are displayed.
ETI_MEMBERS = "ETI member suppliers – Bangladesh and Viet Nam"
TUV_LICENCE = "TÜV Rheinland SCORE licence – China"
SGS_LICENCE = "SGS global SCORE licence"

# --- People --------------------------------------------------------------------------------

ILO_ADMIN_EMAIL = "ilo.admin@score-demo.org"
BRAND_EMAIL = "brand@inditex.score-demo.org"
ETI_EMAIL = "staff@eti.score-demo.org"
COORDINATOR_EMAIL = "coordinator@tuv.score-demo.org"
TRAINER_EMAIL = "trainer@tuv.score-demo.org"
HUAMEI_MANAGER_EMAIL = "manager@huamei.score-demo.org"
OZDEMIR_MANAGER_EMAIL = "manager@ozdemir.score-demo.org"

HUAMEI_PARTICIPANTS = [
    ("陈志强", "生产经理", Participant.Role.MANAGER, Participant.Gender.MAN),
    ("刘芳", "人事经理", Participant.Role.MANAGER, Participant.Gender.WOMAN),
    ("王秀英", "缝纫工", Participant.Role.WORKER, Participant.Gender.WOMAN),
    ("张伟", "裁剪工", Participant.Role.WORKER, Participant.Gender.MAN),
]
# Two of Module 1's KPIs, as measured at the intake visit.
HUAMEI_BASELINE = [("absenteeism", Decimal("6.800")), ("suggestions-implemented", Decimal("2"))]


@transaction.atomic
def load_demo_world(*, password: str) -> list[DemoUser]:
    """Create (or find) the demo world and return its users, one per role."""
    today = timezone.localdate()
    modules = {m.code: m for m in Module.objects.filter(code__in=["M1", "M2", "M3", "M4", "M5"])}
    m1 = modules["M1"]

    # Partners. The programme has exactly one ILO row, whatever it is called.
    ilo = Partner.objects.filter(kind=Partner.Kind.ILO).first() or Partner.objects.create(
        name=ILO_NAME,
        short_name="ILO",
        kind=Partner.Kind.ILO,
        country="CH",
        website="https://www.ilo.org",
    )
    partners = {ILO_NAME: ilo}
    for spec in PARTNERS:
        defaults = {k: v for k, v in spec.items() if k != "name"}
        partners[spec["name"]], _created = Partner.objects.get_or_create(
            name=spec["name"], defaults=defaults
        )
    inditex, eti, tuv = partners[INDITEX], partners[ETI], partners[TUV]

    # People, one per role.
    ilo_admin = _user(ILO_ADMIN_EMAIL, "Amira Haddad", "en", password, is_staff=True)
    brand_staff = _user(BRAND_EMAIL, "Lucía Fernández García", "es", password)
    eti_staff = _user(ETI_EMAIL, "Oliver Bennett", "en", password)
    coordinator = _user(COORDINATOR_EMAIL, "Katrin Schneider", "en", password)
    trainer = _user(TRAINER_EMAIL, "王磊", "zh-hans", password)
    huamei_manager = _user(HUAMEI_MANAGER_EMAIL, "陈晓梅", "zh-hans", password)
    ozdemir_manager = _user(OZDEMIR_MANAGER_EMAIL, "Ayşe Özdemir", "tr", password)

    add_member(partner=ilo, user=ilo_admin, role=Membership.Role.ADMIN)
    add_member(partner=inditex, user=brand_staff, role=Membership.Role.STAFF)
    add_member(partner=eti, user=eti_staff, role=Membership.Role.STAFF)
    add_member(partner=tuv, user=coordinator, role=Membership.Role.STAFF)
    add_member(partner=tuv, user=trainer, role=Membership.Role.TRAINER)

    # The trainer holds Modules 1 and 2 (most trainers hold two or three).
    for code in ("M1", "M2"):
        if not TrainerCertification.objects.filter(trainer=trainer, module=modules[code]).exists():
            certify_trainer(
                trainer=trainer,
                module=modules[code],
                certified_on=datetime.date(today.year - 1, 3, 14),
            )

    # Factories and the brands' supplier lists.
    factories: dict[str, Factory] = {}
    for spec in FACTORIES:
        factory = Factory.objects.filter(os_id=spec["os_id"]).first()
        if factory is None:
            factory = Factory(**spec)
            factory.full_clean()  # the demo data must pass the same checks as a form
            factory.save()
        factories[spec["os_id"]] = factory
    for brand_name, os_id, code in SUPPLIER_LINKS:
        brand, factory = partners[brand_name], factories[os_id]
        # Keep a link (and its code) someone edited in the demo; only add missing ones.
        if not BrandSupplier.objects.filter(brand=brand, factory=factory).exists():
            link_supplier(brand=brand, factory=factory, supplier_code=code)
    add_factory_manager(factory=factories[HUAMEI], user=huamei_manager)
    add_factory_manager(factory=factories[OZDEMIR], user=ozdemir_manager)

    # Partnerships; dates are relative to today so the approved ones stay current.
    start, end = datetime.date(today.year, 1, 1), datetime.date(today.year + 1, 12, 31)
    pilot = _partnership(
        inditex,
        INDITEX_PILOT,
        ["M1", "M2", "M5"],
        modules,
        kind=Partnership.Kind.PILOT,
        status=Partnership.Status.APPROVED,
        countries=["TR", "CN"],
        factory_quota=20,
        budget=Decimal("150000"),
        currency="EUR",
        brand_share_percent=80,
        start_date=start,
        end_date=end,
        contact_name=brand_staff.full_name,
        contact_email=brand_staff.email,
        created_by=brand_staff,
    )
    eti_partnership = _partnership(
        eti,
        ETI_MEMBERS,
        ["M1", "M3"],
        modules,
        kind=Partnership.Kind.INITIATIVE_MEMBERSHIP,
        status=Partnership.Status.APPROVED,
        countries=["BD", "VN"],
        factory_quota=15,
        budget=Decimal("90000"),
        currency="GBP",
        brand_share_percent=70,
        start_date=start,
        end_date=end,
        contact_name=eti_staff.full_name,
        contact_email=eti_staff.email,
        created_by=eti_staff,
    )
    _partnership(
        tuv,
        TUV_LICENCE,
        ["M1", "M2", "M3", "M4", "M5"],
        modules,
        kind=Partnership.Kind.LICENCE,
        status=Partnership.Status.APPROVED,
        countries=["CN"],
        factory_quota=0,
        budget=Decimal("0"),
        currency="USD",
        brand_share_percent=100,
        start_date=start,
        end_date=end,
        contact_name=coordinator.full_name,
        contact_email=coordinator.email,
        created_by=coordinator,
    )
    # Submitted, not approved: it waits in the ILO admin's review queue.
    _partnership(
        partners[SGS],
        SGS_LICENCE,
        ["M1", "M2", "M3", "M4", "M5"],
        modules,
        kind=Partnership.Kind.LICENCE,
        status=Partnership.Status.SUBMITTED,
        countries=["CN", "VN", "BD", "TR", "IN", "ID"],
        factory_quota=0,
        budget=Decimal("0"),
        currency="USD",
        brand_share_percent=100,
        start_date=start,
        end_date=end,
        contact_name="Marc Dubois",
        contact_email="score@sgs.score-demo.org",
    )

    # The Dongguan cohort. Found by everything but its date: the date is relative to the
    # day of the first run, and a daily restart must not open a new cohort each day.
    cohort = (
        Cohort.objects.filter(module=m1, provider=tuv, trainer=trainer, venue_city="Dongguan")
        .order_by("classroom_start")
        .first()
    )
    if cohort is None:
        classroom_start = today + datetime.timedelta(days=21)
        cohort = create_cohort(
            module=m1,
            provider=tuv,
            trainer=trainer,
            venue_city="Dongguan",
            venue_country="CN",
            language="zh-hans",
            classroom_start=classroom_start,
            classroom_end=classroom_start + datetime.timedelta(days=m1.classroom_days - 1),
        )

    # Enrolments. Their participants, visit and readings come only with a new enrolment,
    # so what a demo visitor changed later is kept.
    huamei = _enrol(factories[HUAMEI], m1, pilot, brand_staff, cohort)
    if huamei is not None:
        _set_status(huamei, Enrolment.Status.IN_PROGRESS)
        for name, position, role, gender in HUAMEI_PARTICIPANTS:
            Participant.objects.create(
                enrolment=huamei, name=name, position=position, role=role, gender=gender
            )
        visited_on = today - datetime.timedelta(days=10)
        ConsultingVisit.objects.create(
            enrolment=huamei,
            kind=ConsultingVisit.Kind.BASELINE,
            number=1,
            visited_on=visited_on,
            trainer=trainer,
            notes=(
                "Intake visit with the general manager and the HR manager. Enterprise "
                "Improvement Team of six (three managers, three workers) agreed; baseline "
                "absenteeism and suggestion figures collected from the payroll and the "
                "suggestion box."
            ),
        )
        kpis = {k.code: k for k in KPIDefinition.objects.filter(modules=m1)}
        for code, value in HUAMEI_BASELINE:
            KPIReading.objects.create(
                enrolment=huamei,
                kpi=kpis[code],
                kind=KPIReading.Kind.BASELINE,
                value=value,
                measured_on=visited_on,
                recorded_by=trainer,
            )
    _enrol(factories[OZDEMIR], m1, pilot, brand_staff)  # pending: awaits Ayşe's confirmation
    ningbo = _enrol(factories[NINGBO], m1, pilot, brand_staff, cohort)
    if ningbo is not None:
        _set_status(ningbo, Enrolment.Status.CONFIRMED)
    # Module 2 without a cohort ("the provider places the factory later"): it waits in TÜV
    # Rheinland's placing queue (its trainer is certified for Module 2; it works in China).
    _enrol(factories[NINGBO], modules["M2"], pilot, brand_staff)
    _enrol(factories[DHAKA_KNITWEAR], m1, eti_partnership, eti_staff)

    return [
        DemoUser(_("ILO administrator"), ilo_admin.email, ilo_admin.full_name, ilo.name),
        DemoUser(_("Brand staff"), brand_staff.email, brand_staff.full_name, inditex.name),
        DemoUser(_("Initiative staff"), eti_staff.email, eti_staff.full_name, eti.name),
        DemoUser(
            _("Service provider coordinator"), coordinator.email, coordinator.full_name, tuv.name
        ),
        DemoUser(_("Trainer (Modules 1 and 2)"), trainer.email, trainer.full_name, tuv.name),
        DemoUser(
            _("Factory manager"),
            huamei_manager.email,
            huamei_manager.full_name,
            factories[HUAMEI].name,
        ),
        DemoUser(
            _("Factory manager"),
            ozdemir_manager.email,
            ozdemir_manager.full_name,
            factories[OZDEMIR].name,
        ),
    ]


def _user(
    email: str, full_name: str, language: str, password: str, *, is_staff: bool = False
) -> User:
    """Find or create a demo user who can sign in with ``password`` right away."""
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, password, full_name=full_name, language=language, is_staff=is_staff
        )
    else:
        changed = []
        for field, value in (
            ("full_name", full_name),
            ("language", language),
            ("is_staff", is_staff),
            ("is_active", True),
        ):
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed.append(field)
        # The command prints the password, so it must be the one that works.
        if not user.check_password(password):
            user.set_password(password)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)
    # Mandatory email verification: without a verified primary address allauth refuses sign-in.
    EmailAddress.objects.filter(user=user, primary=True).exclude(email=user.email).update(
        primary=False
    )
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def _partnership(
    partner: Partner,
    title: str,
    module_codes: list[str],
    modules: dict[str, Module],
    **fields: Any,
) -> Partnership:
    partnership, created = Partnership.objects.get_or_create(
        partner=partner, title=title, defaults=fields
    )
    if created:
        partnership.modules.set([modules[code] for code in module_codes])
    return partnership


def _enrol(
    factory: Factory,
    module: Module,
    partnership: Partnership,
    enrolled_by: User,
    cohort: Cohort | None = None,
) -> Enrolment | None:
    """Enrol through the service unless the factory already has any enrolment in the module.

    Returns the new enrolment, or None when one existed (whatever its status).
    """
    if Enrolment.objects.filter(factory=factory, module=module).exists():
        return None
    return enrol_factory(
        factory=factory,
        module=module,
        partnership=partnership,
        enrolled_by=enrolled_by,
        cohort=cohort,
    )


def _set_status(enrolment: Enrolment, status: str) -> None:
    enrolment.status = status
    enrolment.status_changed_at = timezone.now()
    enrolment.save(update_fields=["status", "status_changed_at"])
