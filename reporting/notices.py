"""Reporting's kind of notice (score_portal.notices): a results report made by the worker."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from score_portal.notices import register_kind

register_kind(
    "results_report_ready",
    label=_("Results reports ready to download"),
    templates=["results_report_ready"],
    # Who may ask for a partnership's report: its partner's people and the ILO.
    audience=lambda scope: scope.is_ilo or bool(scope.partner_ids),
    order=40,
)
