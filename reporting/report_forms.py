"""The results report's request: a period and a format."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reporting.models import ResultsReport

IATI = "iati"
# A period longer than this is almost certainly a typo in a year (2062 for 2026).
LONGEST_PERIOD = datetime.timedelta(days=366 * 20)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PeriodForm(forms.Form):
    period_start = forms.DateField(label=_("From"), widget=DateInput())
    period_end = forms.DateField(label=_("To"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end:
            if end < start:
                self.add_error("period_end", _("The period ends before it starts."))
            elif end - start > LONGEST_PERIOD:
                self.add_error("period_end", _("Choose a period of at most twenty years."))
        if start and start > timezone.localdate():
            self.add_error("period_start", _("The period cannot start in the future."))
        return data


class ResultsReportForm(PeriodForm):
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[*ResultsReport.Format.choices, (IATI, _("IATI results (XML)"))],
        initial=ResultsReport.Format.PDF,
        widget=forms.RadioSelect,
    )
