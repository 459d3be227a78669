"""The SCORE module catalogue as the programme publishes it.

Loaded by a data migration so every installation starts with the real catalogue; ILO admins
maintain it in the admin from then on. The migration only adds what is missing and never
overwrites an admin's edits.

Titles, KPI names and units are stored in English and marked for translation here, so pages,
emails and certificates show them in the reader's language (``Module.display_title``,
``KPIDefinition.display_name``); a title an ILO admin rewrites shows as written. The long
descriptions are not translated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext, gettext_noop


def translated(text: str) -> str:
    """A catalogue text in the active language, or as written if it has no translation (an
    ILO admin's own). ``gettext("")`` would be the translation catalogue's header."""
    return gettext(text) if text else ""


KPIS: list[dict[str, str]] = [
    {
        "code": "labour-productivity",
        "name": gettext_noop("Labour productivity"),
        "unit": gettext_noop("units / worker-hour"),
        "direction": "up",
    },
    {
        "code": "defect-rate",
        "name": gettext_noop("Defect / rework rate"),
        "unit": "%",
        "direction": "down",
    },
    {
        "code": "on-time-delivery",
        "name": gettext_noop("On-time delivery"),
        "unit": "%",
        "direction": "up",
    },
    {
        "code": "energy-per-unit",
        "name": gettext_noop("Energy per unit produced"),
        "unit": gettext_noop("kWh / unit"),
        "direction": "down",
    },
    {
        "code": "waste",
        "name": gettext_noop("Waste"),
        "unit": gettext_noop("kg / month"),
        "direction": "down",
    },
    {"code": "absenteeism", "name": gettext_noop("Absenteeism"), "unit": "%", "direction": "down"},
    {
        "code": "staff-turnover",
        "name": gettext_noop("Staff turnover"),
        "unit": gettext_noop("% / year"),
        "direction": "down",
    },
    {
        "code": "accidents",
        "name": gettext_noop("Workplace accidents"),
        "unit": gettext_noop("per month"),
        "direction": "down",
    },
    {
        "code": "suggestions-implemented",
        "name": gettext_noop("Worker suggestions implemented"),
        "unit": gettext_noop("per month"),
        "direction": "up",
    },
]

# What a reading of each KPI may be (``KPIDefinition.kind``, optional ``max_value``): a
# percentage lies in 0–100; every other kind is 0 or more. Staff turnover is a rate, not a
# percentage: a factory may replace more than its whole workforce in a year, but not ten times.
KPI_RANGES: dict[str, dict[str, Any]] = {
    "labour-productivity": {"kind": "rate"},
    "defect-rate": {"kind": "percentage"},
    "on-time-delivery": {"kind": "percentage"},
    "energy-per-unit": {"kind": "rate"},
    "waste": {"kind": "rate"},
    "absenteeism": {"kind": "percentage"},
    "staff-turnover": {"kind": "rate", "max_value": Decimal(1000)},
    "accidents": {"kind": "count"},
    "suggestions-implemented": {"kind": "count"},
}

_CLASSIC = {"format": "classroom_visits", "classroom_days": 2, "followup_visits": 3}

MODULES: list[dict[str, Any]] = [
    {
        "code": "M1",
        "number": 1,
        "title": gettext_noop("Workplace Cooperation"),
        "sort_order": 1,
        **_CLASSIC,
        "description": "The foundation of SCORE: managers and workers improve the enterprise together through an Enterprise Improvement Team.",  # noqa: E501
        "kpis": ["suggestions-implemented", "absenteeism", "staff-turnover"],
    },
    {
        "code": "M2",
        "number": 2,
        "title": gettext_noop("Quality Management"),
        "sort_order": 2,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Customer-driven quality: fewer defects, less rework, reliable delivery.",
        "kpis": ["defect-rate", "on-time-delivery", "labour-productivity"],
    },
    {
        "code": "M3",
        "number": 3,
        "title": gettext_noop("Clean Production and Resource Efficiency"),
        "sort_order": 3,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Less energy, water and material per unit; less waste.",
        "kpis": ["energy-per-unit", "waste"],
    },
    {
        "code": "M4",
        "number": 4,
        "title": gettext_noop("Workforce Management"),
        "sort_order": 4,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Human-resource practices that keep and develop the workforce.",
        "kpis": ["absenteeism", "staff-turnover"],
    },
    {
        "code": "M5",
        "number": 5,
        "title": gettext_noop("Occupational Safety and Health"),
        "sort_order": 5,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "A safe and healthy workplace through cooperation on risks.",
        "kpis": ["accidents", "absenteeism"],
    },
    {
        "code": "LEAN",
        "title": gettext_noop("Lean Manufacturing"),
        "sort_order": 10,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Flow, waste elimination and continuous improvement on the shop floor.",
        "kpis": ["labour-productivity", "on-time-delivery", "defect-rate"],
    },
    {
        "code": "GENDER",
        "title": gettext_noop("Gender Equality"),
        "sort_order": 11,
        "format": "classroom_visits",
        "classroom_days": 1,
        "followup_visits": 2,
        "description": "Equal opportunity and a workplace free from harassment.",
        "kpis": ["staff-turnover"],
    },
    {
        "code": "RBC",
        "title": gettext_noop("Responsible Business"),
        "sort_order": 12,
        "format": "classroom_visits",
        "classroom_days": 1,
        "followup_visits": 2,
        "description": "Responsible business conduct along the supply chain.",
        "kpis": [],
    },
    {
        "code": "HOSPITALITY",
        "title": gettext_noop("Hospitality Coaching"),
        "sort_order": 13,
        "format": "coaching",
        "classroom_days": 1,
        "followup_visits": 3,
        "description": "SCORE for hotels and restaurants.",
        "kpis": ["staff-turnover"],
    },
    {
        "code": "WORKING-TIME",
        "title": gettext_noop("Working Time"),
        "sort_order": 14,
        "format": "classroom_visits",
        "classroom_days": 1,
        "followup_visits": 2,
        "description": "Working hours, overtime and productivity.",
        "kpis": ["labour-productivity"],
    },
    {
        "code": "S4C",
        "title": "SCORE4Climate",
        "sort_order": 15,
        "format": "classroom_visits",
        "classroom_days": 2,
        "followup_visits": 3,
        "description": "Climate action and resource efficiency for SMEs.",
        "kpis": ["energy-per-unit", "waste"],
    },
    {
        "code": "COVID-OSH",
        "title": gettext_noop("COVID-19 Occupational Safety and Health"),
        "sort_order": 16,
        "format": "online",
        "classroom_days": 0,
        "followup_visits": 0,
        "description": "Self-paced online module on preventing COVID-19 at work.",
        "kpis": ["absenteeism"],
    },
    {
        "code": "BCP",
        "title": gettext_noop("Business Continuity Planning"),
        "sort_order": 17,
        "format": "online",
        "classroom_days": 0,
        "followup_visits": 1,
        "description": "Preparing the enterprise for disruption.",
        "kpis": [],
    },
]


def set_kpi_ranges(kpi_model: Any) -> None:
    """Give the catalogue's KPIs their kind and range (the migration that added them)."""
    for code, fields in KPI_RANGES.items():
        kpi_model.objects.filter(code=code).update(**fields)


def load_catalogue(module_model: Any, kpi_model: Any) -> None:
    """Add the catalogue's KPIs and modules that are missing; leave existing rows alone."""
    kpis = {}
    has_ranges = any(f.name == "kind" for f in kpi_model._meta.get_fields())
    for row in KPIS:
        defaults: dict[str, Any] = {k: v for k, v in row.items() if k != "code"}
        if has_ranges:  # not in the migration that first loaded the catalogue
            defaults.update(KPI_RANGES.get(row["code"], {}))
        kpis[row["code"]], _ = kpi_model.objects.get_or_create(code=row["code"], defaults=defaults)
    for row in MODULES:
        fields = {k: v for k, v in row.items() if k not in {"code", "kpis", "prerequisite"}}
        if row.get("prerequisite"):
            fields["prerequisite"] = module_model.objects.get(code=row["prerequisite"])
        module, created = module_model.objects.get_or_create(code=row["code"], defaults=fields)
        if created:
            module.kpis.set([kpis[code] for code in row["kpis"]])
