"""Examples shown in the API's documentation (drf-spectacular)."""

from drf_spectacular.utils import OpenApiExample

_FACTORY = {
    "id": 812,
    "name": "东莞华美制衣有限公司",
    "name_latin": "Dongguan Huamei Garment Co., Ltd.",
    "address": "广东省东莞市虎门镇",
    "city": "Dongguan",
    "country": "CN",
    "os_id": "CN2019067X1K87E",
    "registration_number": "",
    "sector": "garments",
    "workers_total": 320,
    "workers_women": 210,
    "language": "zh-hans",
    "updated_at": "2026-11-02T08:15:00Z",
}
_SUPPLIER = {
    "id": 4051,
    "brand": 3,
    "supplier_code": "HM-0001",
    "factory": _FACTORY,
    "created_at": "2026-10-01T09:00:00Z",
    "ended_at": None,
}
_ENROLMENT = {
    "id": 9120,
    "factory": {
        "id": 812,
        "name": "东莞华美制衣有限公司",
        "name_latin": "Dongguan Huamei Garment Co., Ltd.",
        "country": "CN",
    },
    "module": {"id": 1, "code": "M1", "title": "Workplace Cooperation"},
    "partnership": 17,
    "cohort": None,
    "status": "pending",
    "created_at": "2026-12-06T10:00:00Z",
    "status_changed_at": "2026-12-06T10:00:00Z",
    "placed_at": None,
    "completed_at": None,
    "withdrawal_reason": "",
}


def _page(result: dict[str, object]) -> dict[str, object]:
    return {
        "count": 1240,
        "next": "https://portal.example/api/v1/resource/?page=2",
        "previous": None,
        "results": [result],
    }


SUPPLIER = OpenApiExample("A supplier", value=_SUPPLIER, response_only=True)
SUPPLIER_PAGE = OpenApiExample("A page of suppliers", value=_page(_SUPPLIER), response_only=True)
ENROLMENT = OpenApiExample("An enrolment", value=_ENROLMENT, response_only=True)
ENROLMENT_PAGE = OpenApiExample("A page of enrolments", value=_page(_ENROLMENT), response_only=True)
ENROL_REQUEST = OpenApiExample(
    "Enrol a supplier in Module 1",
    value={"factory": 812, "module": 1, "partnership": 17},
    request_only=True,
)
REFUSAL = OpenApiExample(
    "Refused: the partnership's quota is used up",
    value={
        "errors": [
            {
                "field": "partnership",
                "code": "refused",
                "message": "The partnership's quota of 40 factories is used up.",
            }
        ]
    },
    response_only=True,
    status_codes=["400"],
)
WITHDRAW_REQUEST = OpenApiExample(
    "Withdraw", value={"reason": "The factory closed its line."}, request_only=True
)
PROGRESS = OpenApiExample(
    "Progress",
    value={
        "enrolment": 9120,
        "status": "in_progress",
        "percent": 50,
        "steps": [
            {"key": "baseline", "label": "Intake / baseline visit", "done": True,
             "when": "2026-09-02"},
            {"key": "classroom", "label": "Classroom", "done": True, "when": "2026-09-15"},
            {"key": "plan", "label": "Improvement plan", "done": True, "when": None},
            {"key": "visit-1", "label": "Follow-up visit 1", "done": False, "when": None},
        ],
        "visits": [{"kind": "baseline", "number": 1, "visited_on": "2026-09-02"}],
        "participants": {
            "total": 4,
            "by_role": {"manager": 2, "worker": 2},
            "by_gender": {"woman": 2, "man": 2},
        },
    },
    response_only=True,
)  # fmt: skip
VERIFICATION = OpenApiExample(
    "An issued certificate",
    value={
        "code": "K7QM-2XPA-9RTB-HW4C",
        "status": "issued",
        "factory": "东莞华美制衣有限公司",
        "module": "Workplace Cooperation",
        "module_code": "M1",
        "issued_at": "2026-11-30T12:00:00Z",
        "revoked_at": None,
    },
    response_only=True,
)
PARTNERSHIP = OpenApiExample(
    "A partnership",
    value=_page(
        {
            "id": 17,
            "partner": 3,
            "partner_name": "Brand A",
            "kind": "ppp",
            "title": "Brand A pilot, China",
            "status": "approved",
            "countries": ["CN"],
            "factory_quota": 40,
            "budget": "200000.00",
            "currency": "USD",
            "brand_share_percent": 70,
            "start_date": "2026-01-01",
            "end_date": "2027-12-31",
            "created_at": "2025-11-20T14:00:00Z",
            "updated_at": "2026-01-05T09:30:00Z",
            "ledger": {
                "quota": 40,
                "funded": 12,
                "places_left": 28,
                "budget": "200000.00",
                "budget_committed": "60000.00",
                "budget_left": "140000.00",
                "partner_pays": "42000.00",
                "percent_used": 30,
            },
        }
    ),
    response_only=True,
)


# --- Delivery (a provider's keys), names with their language ------------------------------

PLACE_REQUEST = OpenApiExample(
    "Place two waiting enrolments",
    value={"enrolments": [9120, 9121], "reason": ""},
    request_only=True,
)
PLACE_REFUSAL = OpenApiExample(
    "Refused: the cohort is full",
    value={
        "errors": [
            {
                "field": "enrolments",
                "code": "refused",
                "message": "The cohort has 1 place left; you chose 2 enterprises.",
            }
        ]
    },
    response_only=True,
    status_codes=["400"],
)
ATTENDANCE_REQUEST = OpenApiExample(
    "Present on the first classroom day",
    value={"day": "2026-12-03", "present": [5012, 5013, 5015]},
    request_only=True,
)
REGISTER = OpenApiExample(
    "The register",
    value={
        "cohort": 44,
        "days": ["2026-12-03", "2026-12-04"],
        "begun": ["2026-12-03"],
        "participants": [
            {"participant": 5012, "name": "李娜", "role": "manager", "gender": "woman",
             "enrolment": 9120, "factory": 812, "open": True, "present_on": ["2026-12-03"]},
            {"participant": 5014, "name": "王伟", "role": "worker", "gender": "man",
             "enrolment": 9120, "factory": 812, "open": True, "present_on": []},
        ],
        "without_participants": [9133],
    },
    response_only=True,
)  # fmt: skip
VISIT_REQUEST = OpenApiExample(
    "The first follow-up visit",
    value={"kind": "follow_up", "visited_on": "2026-12-18", "notes": "Plan on track.",
           "actions_reviewed": [301, 302]},
    request_only=True,
)  # fmt: skip
VISIT = OpenApiExample(
    "A visit",
    value={"id": 7781, "enrolment": 9120, "kind": "follow_up", "number": 1,
           "visited_on": "2026-12-18", "trainer": 57, "notes": "Plan on track.",
           "actions_reviewed": [301, 302], "created_at": "2026-12-18T15:20:00Z"},
    response_only=True,
)  # fmt: skip
KPI_READING_REQUEST = OpenApiExample(
    "A baseline reading",
    value={"kpi": "defect-rate", "kind": "baseline", "value": "7.5",
           "measured_on": "2026-11-20"},
    request_only=True,
)  # fmt: skip
KPI_READING = OpenApiExample(
    "A reading",
    value={"id": 66120, "kpi": "defect-rate", "kpi_name": "Defect / rework rate", "unit": "%",
           "kind": "baseline", "value": "7.500", "measured_on": "2026-11-20",
           "created_at": "2026-11-21T09:00:00Z"},
    response_only=True,
)  # fmt: skip
KPI_REFUSAL = OpenApiExample(
    "Refused: a percentage above 100",
    value={"errors": [{"field": "value", "code": "refused",
                       "message": "Defect / rework rate is a percentage: 0 to 100."}]},
    response_only=True,
    status_codes=["400"],
)  # fmt: skip
KPI_CORRECTION_REQUEST = OpenApiExample(
    "Correct a typing error",
    value={"value": "5.7", "measured_on": "2026-11-20", "reason": "Typed 7.5 for 5.7."},
    request_only=True,
)
KPI_DELETION_REQUEST = OpenApiExample(
    "Delete a reading", value={"reason": "Recorded for the wrong factory."}, request_only=True
)
_NAMES = [
    {"language": "en", "name": "Workplace Cooperation"},
    {"language": "zh-hans", "name": "工作场所合作"},
    {"language": "tr", "name": "İşyeri İşbirliği"},
]
_MODULE = {
    "id": 1, "code": "M1", "number": 1, "title": "Workplace Cooperation", "titles": _NAMES,
    "format": "classroom_visits", "classroom_days": 2, "followup_visits": 3,
    "prerequisite": None, "is_active": True,
    "kpis": [{"id": 2, "code": "defect-rate", "name": "Defect / rework rate",
              "names": [{"language": "en", "name": "Defect / rework rate"},
                        {"language": "zh-hans", "name": "次品/返工率"}],
              "unit": "%", "units": [{"language": "en", "name": "%"}]}],
}  # fmt: skip
MODULE = OpenApiExample("A module", value=_MODULE, response_only=True)
MODULE_PAGE = OpenApiExample("The catalogue", value=_page(_MODULE), response_only=True)
SUPPLIER_DETAIL = OpenApiExample(
    "A supplier and its factory's names",
    value={
        **_SUPPLIER,
        "factory": {
            **_FACTORY,
            "names": [
                {"language": "zh-hans", "name": "东莞华美制衣有限公司"},
                {"language": "zh-Latn", "name": "Dongguan Huamei Garment Co., Ltd."},
            ],
        },
    },
    response_only=True,
)
