from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from partners.models import Partner
from suppliers.models import SupplierImport

ENCODINGS = [
    ("", _("Detect automatically")),
    ("utf-8", _("UTF-8")),
    ("utf-16", _("UTF-16 (Excel “Unicode text”)")),
    ("cp1252", _("Windows-1252 (Western European)")),
    ("cp1254", _("Windows-1254 (Turkish)")),
    ("cp1258", _("Windows-1258 (Vietnamese)")),
    ("gb18030", _("GB18030 (Chinese)")),
]


class SupplierImportForm(forms.Form):
    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=Partner.objects.none(), empty_label=None
    )
    file = forms.FileField(
        label=_("Supplier list"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xlsm"}),
    )
    # Required, with no default: ending suppliers by mistake, or keeping those that left,
    # is the brand's call each time.
    mode = forms.ChoiceField(
        label=_("This file is"),
        choices=SupplierImport.Mode.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether the file is your whole list or additions.")},
    )
    encoding = forms.ChoiceField(
        label=_("Text encoding"),
        choices=ENCODINGS,
        required=False,
        help_text=_("Only for CSV files whose accents or Chinese characters come out wrong."),
    )

    def __init__(self, *args: Any, brands: QuerySet[Partner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands
        if len(brands) == 1:
            self.fields["brand"].initial = brands[0]
            self.fields["brand"].widget = forms.HiddenInput()
        self.fields["file"].help_text = _(
            "CSV or XLSX, up to %(size)s. Required columns: factory name, address, country."
        ) % {"size": filesizeformat(settings.SUPPLIER_IMPORT_MAX_BYTES)}


class MergeForm(forms.Form):
    """Confirm a merge previewed: why the two records are one factory."""

    reason = forms.CharField(
        label=_("Why are these records one factory?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Kept with the merge, for whoever has to explain it later."),
    )
    fingerprint = forms.CharField(widget=forms.HiddenInput, max_length=64)
