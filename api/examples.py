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
