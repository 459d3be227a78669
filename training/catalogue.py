"""The SCORE module catalogue as the programme publishes it.

Loaded by a data migration so every installation starts with the real catalogue; ILO admins
maintain it in the admin from then on. The migration only adds what is missing and never
overwrites an admin's edits.
"""

from __future__ import annotations

from typing import Any

KPIS: list[dict[str, str]] = [
    {
        "code": "labour-productivity",
        "name": "Labour productivity",
        "unit": "units / worker-hour",
        "direction": "up",
    },
    {"code": "defect-rate", "name": "Defect / rework rate", "unit": "%", "direction": "down"},
    {"code": "on-time-delivery", "name": "On-time delivery", "unit": "%", "direction": "up"},
    {
        "code": "energy-per-unit",
        "name": "Energy per unit produced",
        "unit": "kWh / unit",
        "direction": "down",
    },
    {"code": "waste", "name": "Waste", "unit": "kg / month", "direction": "down"},
    {"code": "absenteeism", "name": "Absenteeism", "unit": "%", "direction": "down"},
    {"code": "staff-turnover", "name": "Staff turnover", "unit": "% / year", "direction": "down"},
    {"code": "accidents", "name": "Workplace accidents", "unit": "per month", "direction": "down"},
    {
        "code": "suggestions-implemented",
        "name": "Worker suggestions implemented",
        "unit": "per month",
        "direction": "up",
    },
]

_CLASSIC = {"format": "classroom_visits", "classroom_days": 2, "followup_visits": 3}

MODULES: list[dict[str, Any]] = [
    {
        "code": "M1",
        "number": 1,
        "title": "Workplace Cooperation",
        "sort_order": 1,
        **_CLASSIC,
        "description": "The foundation of SCORE: managers and workers improve the enterprise together through an Enterprise Improvement Team.",  # noqa: E501
        "kpis": ["suggestions-implemented", "absenteeism", "staff-turnover"],
    },
    {
        "code": "M2",
        "number": 2,
        "title": "Quality Management",
        "sort_order": 2,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Customer-driven quality: fewer defects, less rework, reliable delivery.",
        "kpis": ["defect-rate", "on-time-delivery", "labour-productivity"],
    },
    {
        "code": "M3",
        "number": 3,
        "title": "Clean Production and Resource Efficiency",
        "sort_order": 3,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Less energy, water and material per unit; less waste.",
        "kpis": ["energy-per-unit", "waste"],
    },
    {
        "code": "M4",
        "number": 4,
        "title": "Workforce Management",
        "sort_order": 4,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Human-resource practices that keep and develop the workforce.",
        "kpis": ["absenteeism", "staff-turnover"],
    },
    {
        "code": "M5",
        "number": 5,
        "title": "Occupational Safety and Health",
        "sort_order": 5,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "A safe and healthy workplace through cooperation on risks.",
        "kpis": ["accidents", "absenteeism"],
    },
    {
        "code": "LEAN",
        "title": "Lean Manufacturing",
        "sort_order": 10,
        **_CLASSIC,
        "prerequisite": "M1",
        "description": "Flow, waste elimination and continuous improvement on the shop floor.",
        "kpis": ["labour-productivity", "on-time-delivery", "defect-rate"],
    },
    {
        "code": "GENDER",
        "title": "Gender Equality",
        "sort_order": 11,
        "format": "classroom_visits",
        "classroom_days": 1,
        "followup_visits": 2,
        "description": "Equal opportunity and a workplace free from harassment.",
        "kpis": ["staff-turnover"],
    },
    {
        "code": "RBC",
        "title": "Responsible Business",
        "sort_order": 12,
        "format": "classroom_visits",
        "classroom_days": 1,
        "followup_visits": 2,
        "description": "Responsible business conduct along the supply chain.",
        "kpis": [],
    },
    {
        "code": "HOSPITALITY",
        "title": "Hospitality Coaching",
        "sort_order": 13,
        "format": "coaching",
        "classroom_days": 1,
        "followup_visits": 3,
        "description": "SCORE for hotels and restaurants.",
        "kpis": ["staff-turnover"],
    },
    {
        "code": "WORKING-TIME",
        "title": "Working Time",
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
        "title": "COVID-19 Occupational Safety and Health",
        "sort_order": 16,
        "format": "online",
        "classroom_days": 0,
        "followup_visits": 0,
        "description": "Self-paced online module on preventing COVID-19 at work.",
        "kpis": ["absenteeism"],
    },
    {
        "code": "BCP",
        "title": "Business Continuity Planning",
        "sort_order": 17,
        "format": "online",
        "classroom_days": 0,
        "followup_visits": 1,
        "description": "Preparing the enterprise for disruption.",
        "kpis": [],
    },
]


def load_catalogue(module_model: Any, kpi_model: Any) -> None:
    """Add the catalogue's KPIs and modules that are missing; leave existing rows alone."""
    kpis = {}
    for row in KPIS:
        kpis[row["code"]], _ = kpi_model.objects.get_or_create(
            code=row["code"], defaults={k: v for k, v in row.items() if k != "code"}
        )
    for row in MODULES:
        fields = {k: v for k, v in row.items() if k not in {"code", "kpis", "prerequisite"}}
        if row.get("prerequisite"):
            fields["prerequisite"] = module_model.objects.get(code=row["prerequisite"])
        module, created = module_model.objects.get_or_create(code=row["code"], defaults=fields)
        if created:
            module.kpis.set([kpis[code] for code in row["kpis"]])
