"""Results as IATI activities (the IATI activity standard 2.03: result → indicator →
baseline → period with target and actual), validated against the IATI schema in the tests.

One ``iati-activity`` per partnership (the ILO's programme export holds one per partnership
that has funded training). Each carries two results:

- *Enterprises and people reached* (an output): headline counts of the period (factories,
  enrolments, completions, participants, women, workers); baseline 0 at the period's start,
  the target of factories is the partnership's quota.
- *KPI change in trained enterprises* (an outcome): per KPI and per group (factories that
  shared their readings with the partner, and those that did not), the baseline average and
  the latest follow-up average, exactly the partner's figures of ``training.impact`` (the
  privacy rule: at least K factories, unshared ones in whole blocks; a withheld figure has
  no value and a comment saying why). They cover every factory the partner funds, so they
  are marked not to be aggregated (``aggregation-status="0"``).

Written with the standard library's ElementTree: the portal needs no XML library at run
time (the tests validate with lxml).
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partners.models import Partnership
from reporting.reports import Headline, headline
from training import impact
from training.models import KPIDefinition

IATI_VERSION = "2.03"
# The ILO's IATI organisation identifier (the OECD DAC code of the ILO, 41302).
ILO_ORG_REF = "XM-DAC-41302"
ORG_TYPE_MULTILATERAL = "40"
ORG_TYPE_PRIVATE_SECTOR = "70"
# Codelists: OrganisationRole 1 funding, 4 implementing; ActivityStatus 2 implementation,
# 3 finalisation, 4 closed; ActivityDateType 1 planned start, 3 planned end; ResultType 1
# output, 2 outcome; IndicatorMeasure 1 unit, 2 percentage.
ROLE_FUNDING, ROLE_IMPLEMENTING = "1", "4"
RESULT_OUTPUT, RESULT_OUTCOME = "1", "2"
MEASURE_UNIT, MEASURE_PERCENTAGE = "1", "2"
_STATUS = {
    Partnership.Status.APPROVED: "2",
    Partnership.Status.SUSPENDED: "2",
    Partnership.Status.CLOSED: "4",
}


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    ET.SubElement(element, "narrative").text = text
    return element


def _value(number: Decimal | int) -> str:
    if isinstance(number, Decimal):
        return format(number.quantize(Decimal("0.001")).normalize(), "f")
    return str(number)


def _indicator(
    result: ET.Element,
    *,
    title: str,
    measure: str,
    ascending: bool,
    start: datetime.date,
    end: datetime.date,
    baseline: Decimal | int | None,
    actual: Decimal | int | None,
    target: int | None = None,
    description: str = "",
    comment: str = "",
    aggregate: bool = True,
) -> None:
    indicator = ET.SubElement(
        result,
        "indicator",
        measure=measure,
        ascending="1" if ascending else "0",
        **{"aggregation-status": "1" if aggregate else "0"},
    )
    _text(indicator, "title", title)
    if description:
        _text(indicator, "description", description)
    base = ET.SubElement(indicator, "baseline", year=str(start.year), **{"iso-date": str(start)})
    if baseline is not None:
        base.set("value", _value(baseline))
    if comment and baseline is None:
        _text(base, "comment", comment)
    period = ET.SubElement(indicator, "period")
    ET.SubElement(period, "period-start", **{"iso-date": str(start)})
    ET.SubElement(period, "period-end", **{"iso-date": str(end)})
    if target is not None:
        ET.SubElement(period, "target", value=str(target))
    actual_element = ET.SubElement(period, "actual")
    if actual is not None:
        actual_element.set("value", _value(actual))
    elif comment:
        _text(actual_element, "comment", comment)


def _reached(activity: ET.Element, p: Partnership, counts: Headline, start, end) -> None:
    result = ET.SubElement(activity, "result", type=RESULT_OUTPUT, **{"aggregation-status": "1"})
    _text(result, "title", _("Enterprises and people reached"))
    for title, actual, target in (
        (_("Factories in training"), counts.factories, p.factory_quota or None),
        (_("Enrolments (factory and module)"), counts.enrolments, None),
        (_("Modules completed"), counts.completions, None),
        (_("Participants trained"), counts.participants_total, None),
        (_("Women participants"), counts.women, None),
        (_("Worker participants"), counts.workers, None),
    ):
        _indicator(
            result,
            title=title,
            measure=MEASURE_UNIT,
            ascending=True,
            start=start,
            end=end,
            baseline=0,
            actual=actual,
            target=target,
        )


def _kpi_results(
    activity: ET.Element, p: Partnership, kpis: list[impact.KPIImpact], start, end
) -> None:
    if not kpis:
        return
    result = ET.SubElement(activity, "result", type=RESULT_OUTCOME, **{"aggregation-status": "0"})
    _text(result, "title", _("KPI change in trained enterprises"))
    k = impact.min_factories()
    withheld = _("Withheld: fewer than %(k)s factories.") % {"k": k}
    scope_note = _(
        "Across every factory %(partner)s funds: one value per factory (its latest baseline "
        "and the latest follow-up of the same cycle), averaged over %(n)s factories."
    )
    for item in kpis:
        kpi = item.kpi
        measure = MEASURE_PERCENTAGE if kpi.kind == KPIDefinition.Kind.PERCENTAGE else MEASURE_UNIT
        for label, group in (
            (_("factories that shared their readings"), item.shared),
            (_("factories that did not share their readings"), item.unshared),
        ):
            if group.reporting == 0:
                continue
            _indicator(
                result,
                title=f"{kpi.display_name} ({kpi.display_unit}), {label}",
                description=scope_note % {"partner": p.partner.name, "n": group.follow_up.counted},
                measure=measure,
                ascending=kpi.direction == KPIDefinition.Direction.HIGHER_IS_BETTER,
                start=start,
                end=end,
                baseline=group.baseline.average,
                actual=group.follow_up.average,
                comment=withheld,
                aggregate=False,
            )


def _activity(
    root: ET.Element,
    p: Partnership,
    start: datetime.date,
    end: datetime.date,
    kpis: list[impact.KPIImpact],
) -> None:
    activity = ET.SubElement(
        root,
        "iati-activity",
        {
            "last-updated-datetime": timezone.now().replace(microsecond=0).isoformat(),
            "default-currency": p.currency,
            "{http://www.w3.org/XML/1998/namespace}lang": "en",
        },
    )
    ET.SubElement(activity, "iati-identifier").text = f"{ILO_ORG_REF}-SCORE-{p.pk}"
    org = ET.SubElement(activity, "reporting-org", ref=ILO_ORG_REF, type=ORG_TYPE_MULTILATERAL)
    ET.SubElement(org, "narrative").text = "International Labour Organization"
    _text(activity, "title", f"SCORE: {p.title}")
    _text(
        activity,
        "description",
        _("%(kind)s between the ILO and %(partner)s: SCORE training for factories.")
        % {"kind": p.get_kind_display(), "partner": p.partner.name},
    )
    funder = ET.SubElement(
        activity, "participating-org", role=ROLE_FUNDING, type=ORG_TYPE_PRIVATE_SECTOR
    )
    ET.SubElement(funder, "narrative").text = p.partner.name
    ilo = ET.SubElement(
        activity,
        "participating-org",
        role=ROLE_IMPLEMENTING,
        ref=ILO_ORG_REF,
        type=ORG_TYPE_MULTILATERAL,
    )
    ET.SubElement(ilo, "narrative").text = "International Labour Organization"
    ET.SubElement(activity, "activity-status", code=_STATUS.get(p.status, "2"))
    ET.SubElement(activity, "activity-date", type="1", **{"iso-date": str(p.start_date or start)})
    if p.end_date:
        ET.SubElement(activity, "activity-date", type="3", **{"iso-date": str(p.end_date)})
    countries = list(p.countries)
    for country in countries:
        ET.SubElement(
            activity,
            "recipient-country",
            code=country.code,
            percentage=_value(Decimal(100) / len(countries)),
        )
    _reached(activity, p, headline(p, start, end), start, end)
    _kpi_results(activity, p, kpis, start, end)


def iati_xml(
    partnerships: Iterable[Partnership], start: datetime.date, end: datetime.date
) -> bytes:
    """The partnerships' results over the period as an IATI activities document (English:
    IATI narratives name their language, and the registry's readers expect English)."""
    root = ET.Element(
        "iati-activities",
        version=IATI_VERSION,
        **{"generated-datetime": timezone.now().replace(microsecond=0).isoformat()},
    )
    kpis_of: dict[int, list[impact.KPIImpact]] = {}
    with translation.override("en"):
        for p in partnerships:
            if p.partner_id not in kpis_of:
                kpis_of[p.partner_id] = impact.kpi_impact(brand_id=p.partner_id)
            _activity(root, p, start, end, kpis_of[p.partner_id])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def programme_partnerships() -> list[Partnership]:
    """The partnerships the programme export covers: those that have funded training."""
    return list(
        Partnership.objects.filter(enrolments__isnull=False)
        .distinct()
        .select_related("partner")
        .order_by("partner__name", "pk")
    )
