from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, Partnership
from score_portal.models import User
from score_portal.uploads import UploadError, open_table
from score_portal.widgets import ModelMultipleIdsField
from suppliers.models import BrandSupplier, Factory
from training.kpi_rules import allowed_range, number
from training.models import (
    Cohort,
    ConsultingVisit,
    Enrolment,
    ImprovementAction,
    KPIDefinition,
    KPIReading,
    Module,
    Participant,
)
from training.rules import COHORT_FIELDS, cohort_refusals, placement_mismatch
from training.selectors import cohorts_open_for_enrolment


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


MAX_CODES_FILE_BYTES = 1024 * 1024


class CohortChoiceField(forms.ModelChoiceField):
    """Each cohort with what a brand chooses by: where, when, who, places left."""

    def label_from_instance(self, obj: Cohort) -> str:
        left = obj.capacity - getattr(obj, "enterprises", 0)
        places = (
            ngettext("%(n)s place left", "%(n)s places left", left) % {"n": left}
            if left > 0
            else gettext("full")
        )
        return " · ".join(
            [
                obj.module.display_title,
                f"{obj.venue_city}, {obj.venue_country.code}",
                f"{obj.classroom_start:%Y-%m-%d}",
                obj.provider.name,
                places,
            ]
        )


class EnrolForm(forms.Form):
    """Which suppliers, into which module, funded by which partnership, in which cohort."""

    factories = ModelMultipleIdsField(
        label=_("Suppliers"),
        queryset=Factory.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    codes_file = forms.FileField(
        label=_("…or a CSV of your supplier codes"),
        required=False,
        help_text=_("One supplier code per line (a header line is fine)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xlsm"}),
    )
    module = forms.ModelChoiceField(label=_("Module"), queryset=Module.objects.none())
    partnership = forms.ModelChoiceField(label=_("Funded by"), queryset=Partnership.objects.none())
    cohort = CohortChoiceField(
        label=_("Cohort (optional)"),
        queryset=Cohort.objects.none(),
        required=False,
        empty_label=_("None yet: the provider places the factory later"),
        help_text=_("The chosen module’s upcoming cohorts."),
    )
    placement_reason = forms.CharField(
        label=_("Reason for a cohort outside a factory's country or language"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "A cohort is local: a factory joins one in another country, or taught in a "
            "language it does not use, only for a reason you give here (it is recorded)."
        ),
    )

    def __init__(self, *args: Any, brand: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.brand = brand
        self.fields["factories"].queryset = Factory.objects.filter(
            brand_links__brand=brand, brand_links__ended_at=None
        )
        self.fields["module"].queryset = Module.objects.filter(is_active=True)
        self.fields["partnership"].queryset = Partnership.objects.filter(
            partner=brand, status=Partnership.Status.APPROVED
        )
        # Only the chosen module's upcoming cohorts are offered: the page asks for them again
        # when the module changes (or, without JavaScript, reloads with ?module=). A sent
        # form is checked against every upcoming cohort, so one of another module gets its
        # own message (clean); the form then shows the chosen module's.
        if self.is_bound:
            self.fields["cohort"].queryset = cohorts_open_for_enrolment()
        elif (module_id := self.chosen_module_id()) is not None:
            self.fields["cohort"].queryset = cohorts_open_for_enrolment(module_id)
        self.fields["module"].widget.attrs.update(
            {
                "hx-get": reverse("training:enrol_cohorts"),
                "hx-target": "#id_cohort",
                "hx-swap": "outerHTML",
            }
        )

    def chosen_module_id(self) -> int | None:
        """The module the form was opened with (``?module=``), if it names one offered: the
        module field's own check, which turns anything else away."""
        try:
            module = self.fields["module"].clean(self.initial.get("module"))
        except forms.ValidationError:
            return None
        return module.pk

    def clean_codes_file(self) -> list[str]:
        upload = self.cleaned_data.get("codes_file")
        if not upload:
            return []
        if upload.size > MAX_CODES_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB."))
        try:
            table = open_table(upload, filename=upload.name or "codes.csv")
            first_cells = [table.headers[0]] + [cells[0] for _line, cells in table.rows]
        except UploadError as exc:
            raise forms.ValidationError(str(exc)) from None
        codes = [cell.strip() for cell in first_cells if cell.strip()]
        if not codes:
            raise forms.ValidationError(_("The file has no supplier codes."))
        return codes  # the first may be a header: clean() knows the brand's codes

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        codes = data.get("codes_file") or []
        chosen = list(data.get("factories") or [])
        if codes:
            links = BrandSupplier.objects.on_list().filter(
                brand=self.brand, supplier_code__in=codes
            )
            found = {link.supplier_code: link.factory for link in links.select_related("factory")}
            if codes[0] not in found and _looks_like_a_header(codes[0]):
                codes = codes[1:]
                if not codes:
                    self.add_error("codes_file", _("The file has no supplier codes."))
            unknown = [code for code in codes if code not in found]
            if unknown:
                self.add_error(
                    "codes_file",
                    _("Not on your supplier list: %(codes)s.") % {"codes": ", ".join(unknown[:20])},
                )
            chosen += [found[c] for c in codes if c in found and found[c] not in chosen]
        if not chosen and not self.errors:
            raise forms.ValidationError(_("Choose at least one supplier."))
        data["chosen"] = chosen
        cohort, module = data.get("cohort"), data.get("module")
        if cohort and module and cohort.module_id != module.pk:
            self.add_error("cohort", _("That cohort teaches a different module."))
        elif cohort and not (data.get("placement_reason") or "").strip():
            mismatches = [placement_mismatch(factory, cohort) for factory in chosen]
            if any(mismatches):
                self.add_error(
                    "placement_reason",
                    " ".join(m for m in mismatches if m)
                    + " "
                    + gettext("Give a reason to place them there, or choose another cohort."),
                )
        return data

    def _post_clean(self) -> None:
        # Django's hook after every check (clean may stop early): shown again after a
        # refusal, the form offers the chosen module's cohorts, or none without a module.
        module = self.cleaned_data.get("module")
        self.fields["cohort"].queryset = (
            cohorts_open_for_enrolment(module.pk) if module else Cohort.objects.none()
        )


def _looks_like_a_header(cell: str) -> bool:
    """A first line that names the column ("Supplier code", "供应商代码", "Tedarikçi kodu")
    rather than holding one: it says "code", or has no digit, as codes nearly always do."""
    return "code" in cell.lower() or not any(ch.isdigit() for ch in cell)


class CohortForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = list(COHORT_FIELDS)
        widgets = {"classroom_start": DateInput(), "classroom_end": DateInput()}

    def __init__(self, *args: Any, provider: Partner, taken: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken = taken  # places already held (editing a cohort)
        self.fields["module"].queryset = Module.objects.filter(is_active=True)
        self.fields["trainer"].queryset = User.objects.filter(
            memberships__partner=provider, memberships__role="trainer"
        ).order_by("full_name", "email")
        self.fields["trainer"].label_from_instance = lambda u: u.display_name

    def clean(self) -> dict[str, Any]:
        # The service's own rules, beside their fields (before the model's constraints,
        # which would only name themselves).
        data = super().clean()
        refusals = cohort_refusals(
            classroom_start=data.get("classroom_start"),
            classroom_end=data.get("classroom_end"),
            capacity=data.get("capacity"),
            taken=self.taken,
        )
        for field, message in refusals.items():
            self.add_error(field, message)
        return data


class PlaceForm(forms.Form):
    """Place chosen waiting enrolments into one cohort."""

    enrolments = ModelMultipleIdsField(
        label=_("Enrolments to place"),
        queryset=Enrolment.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    cohort = CohortChoiceField(label=_("Cohort"), queryset=Cohort.objects.none())
    reason = forms.CharField(
        label=_("Reason for a cohort outside a factory's country or language"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed only when a factory is placed outside its country or languages."),
    )

    def __init__(self, *args: Any, waiting: Any, cohorts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["enrolments"].queryset = waiting
        self.fields["cohort"].queryset = cohorts


class ParticipantForm(forms.ModelForm):
    class Meta:
        model = Participant
        fields = ["name", "position", "role", "gender"]


ParticipantFormSet = forms.formset_factory(
    ParticipantForm, extra=0, min_num=1, validate_min=True, max_num=20, validate_max=True
)


class DeclineForm(forms.Form):
    prefix = "decline"  # several forms share the enrolment page: keep their ids apart

    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=2000)


class WithdrawForm(forms.Form):
    prefix = "withdraw"  # several forms share the enrolment page: keep their ids apart

    reason = forms.CharField(
        label=_("Reason for the withdrawal"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConsentForm(forms.Form):
    prefix = "consent"  # several forms share the enrolment page: keep their ids apart

    shared = forms.BooleanField(
        label=_("Share our KPI readings with the funding partner"), required=False
    )


class VisitForm(forms.Form):
    prefix = "visit"  # several forms share the enrolment page: keep their ids apart

    kind = forms.ChoiceField(
        label=_("Visit"),
        choices=[
            (ConsultingVisit.Kind.BASELINE, ConsultingVisit.Kind.BASELINE.label),
            (ConsultingVisit.Kind.FOLLOW_UP, ConsultingVisit.Kind.FOLLOW_UP.label),
            (ConsultingVisit.Kind.YEAR_AFTER, ConsultingVisit.Kind.YEAR_AFTER.label),
        ],
    )
    visited_on = forms.DateField(label=_("Date"), widget=DateInput())
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    actions_reviewed = ModelMultipleIdsField(
        label=_("Improvement actions checked"),
        queryset=ImprovementAction.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, enrolment: Enrolment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actions_reviewed"].queryset = enrolment.improvement_actions.all()


class ServiceErrorsForm(forms.Form):
    def add_service_errors(self, errors: dict[str, str]) -> None:
        """Show a service's refusal beside the fields it names (the rest above the form)."""
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)


class _KPIValueForm(ServiceErrorsForm):
    """A reading's value and date: the range is checked by the service, shown here."""

    value = forms.DecimalField(
        label=_("Value"),
        max_digits=14,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"min": 0, "step": "any"}),
    )
    measured_on = forms.DateField(label=_("Measured on"), widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["measured_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class KPIReadingForm(_KPIValueForm):
    prefix = "kpi"  # several forms share the enrolment page: keep their ids apart
    field_order = ["kpi", "kind", "value", "measured_on"]

    kpi = forms.ModelChoiceField(label=_("KPI"), queryset=KPIDefinition.objects.none())
    kind = forms.ChoiceField(label=_("Reading"), choices=KPIReading.Kind.choices)

    def __init__(self, *args: Any, enrolment: Enrolment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kpi"]
        field.queryset = enrolment.module.kpis.all()
        field.label_from_instance = lambda k: f"{k.display_name} ({k.display_unit})"
        # Each KPI's range beside the value.
        self.fields["value"].help_text = "; ".join(
            f"{k.display_name}: {allowed_range(k)}" for k in field.queryset
        )


class KPICorrectionForm(_KPIValueForm):
    prefix = "correct"

    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, reading: KPIReading, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"value": number(reading.value), "measured_on": reading.measured_on}
        )
        super().__init__(*args, **kwargs)
        self.fields["value"].help_text = allowed_range(reading.kpi)


class KPIDeletionForm(ServiceErrorsForm):
    prefix = "delete"

    reason = forms.CharField(
        label=_("Reason for deleting it"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ImprovementActionForm(forms.ModelForm):
    prefix = "action"  # several forms share the enrolment page: keep their ids apart

    class Meta:
        model = ImprovementAction
        fields = ["description", "owner", "due_date"]
        widgets = {"due_date": DateInput()}


class ActionStatusForm(forms.Form):
    action = forms.ModelChoiceField(queryset=ImprovementAction.objects.none())
    status = forms.ChoiceField(choices=ImprovementAction.Status.choices)

    def __init__(self, *args: Any, enrolment: Enrolment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].queryset = enrolment.improvement_actions.all()


class CertificationForm(ServiceErrorsForm):
    """The ILO certifies a trainer for a module (again: renews it with new dates)."""

    module = forms.ModelChoiceField(label=_("Module"), queryset=Module.objects.none())
    certified_on = forms.DateField(label=_("Certified on"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty if the certification does not expire."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        module_field = self.fields["module"]
        assert isinstance(module_field, forms.ModelChoiceField)
        module_field.queryset = Module.objects.filter(is_active=True).order_by("sort_order")
        self.fields["certified_on"].initial = timezone.localdate()


class FactoryManagerInvitationForm(ServiceErrorsForm):
    """Invite a factory's manager by email."""

    email = forms.EmailField(label=_("Email address of the factory's manager"), max_length=254)


class CoFundingProposalForm(forms.Form):
    """A brand's offer to co-fund another brand's enrolment: from which partnership, what
    share (a whole percentage; 50 by default) and a note for the lead funder."""

    partnership = forms.ModelChoiceField(
        label=_("Co-funded by"), queryset=Partnership.objects.none()
    )
    percent = forms.IntegerField(
        label=_("Your share (%)"),
        min_value=1,
        max_value=99,
        initial=50,
        help_text=_(
            "The part of the enrolment's cost your partnership pays; the lead funder pays the rest."
        ),
    )
    note = forms.CharField(
        label=_("Note to the lead funder (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, brand: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partnership"].queryset = Partnership.objects.filter(
            partner=brand, status=Partnership.Status.APPROVED
        ).order_by("title", "pk")


class CoFundingReasonForm(forms.Form):
    """Why a co-funding is declined (optional) or ended (required)."""

    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
