from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from partners.models import Partner, Partnership
from score_portal.widgets import ModelMultipleIdsField


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PartnershipForm(forms.ModelForm):
    """The application. Everything may stay empty in a draft; submitting checks completeness."""

    partner = forms.ModelChoiceField(
        label=_("Applying organisation"), queryset=Partner.objects.none(), empty_label=None
    )
    # The catalogue is training's: its queryset comes from the relation (see __init__).
    modules = ModelMultipleIdsField(
        label=_("Modules covered"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Partnership
        fields = [
            "partner",
            "kind",
            "title",
            "countries",
            "modules",
            "factory_quota",
            "budget",
            "currency",
            "brand_share_percent",
            "start_date",
            "end_date",
            "contact_name",
            "contact_email",
            "supporting_document",
        ]
        widgets = {"start_date": DateInput(), "end_date": DateInput()}
        help_texts = {
            "factory_quota": _("How many factories the partnership funds."),
            "countries": _("Choose every country the partnership covers; type to find one."),
        }

    def __init__(self, *args: Any, partners: QuerySet[Partner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        catalogue = Partnership.modules.field.related_model._default_manager
        self.fields["modules"].queryset = catalogue.filter(is_active=True)
        if self.instance.pk:
            # An application stays with the organisation that started it.
            self.fields["partner"].disabled = True
            self.fields["partner"].initial = self.instance.partner_id
        self.fields["title"].required = False
        self.fields["kind"].required = True

    def clean_supporting_document(self) -> Any:
        document = self.cleaned_data.get("supporting_document")
        if not isinstance(document, UploadedFile):
            return document  # unchanged, or cleared
        limit = settings.PARTNERSHIP_DOCUMENT_MAX_BYTES
        if document.size and document.size > limit:
            raise forms.ValidationError(
                _("The document is %(size)s; the limit is %(limit)s.")
                % {"size": filesizeformat(document.size), "limit": filesizeformat(limit)}
            )
        head = document.read(5)
        document.seek(0)
        if head != b"%PDF-" or not document.name.lower().endswith(".pdf"):
            raise forms.ValidationError(_("The supporting document must be a PDF file."))
        return document

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date cannot be before the start date."))
        return data

    def draft_values(self) -> dict[str, Any]:
        values = {k: v for k, v in self.cleaned_data.items() if k not in {"partner", "modules"}}
        if "supporting_document" in values and values["supporting_document"] is None:
            values.pop("supporting_document")  # no new upload: keep the current file
        elif values.get("supporting_document") is False:
            values["supporting_document"] = ""  # "clear" ticked
        return values


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(
        choices=[(to, label) for to, label in Partnership.Status.choices if to != "draft"],
        widget=forms.HiddenInput,
    )
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        help_text=_("Required for a decision; the applicant reads it."),
    )


# Kept next to the form so templates can label each button without logic of their own.
ACTION_LABELS = {
    "submitted": _("Submit for review"),
    "approved": _("Approve"),
    "rejected": _("Reject"),
    "changes_requested": _("Send back for changes"),
    "suspended": _("Suspend"),
    "closed": _("Close"),
}


class InvitationForm(forms.Form):
    """Invite a colleague by email with a role (the roles the organisation's kind allows)."""

    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = roles
        role_field.initial = "staff"


class RoleForm(forms.Form):
    """A member's new role."""

    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = roles


class OrganisationForm(forms.Form):
    """The ILO opens a partner organisation and invites its first administrator."""

    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=50, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(v, label) for v, label in Partner.Kind.choices if v != Partner.Kind.ILO],
    )
    country = forms.ChoiceField(label=_("Headquarters country"), required=False, choices=())
    website = forms.URLField(
        label=_("Website"), required=False, max_length=200, assume_scheme="https"
    )
    admin_email = forms.EmailField(
        label=_("Email of its first administrator"),
        max_length=254,
        help_text=_("They receive an invitation to open their account and manage their people."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country_field = self.fields["country"]
        assert isinstance(country_field, forms.ChoiceField)
        country_field.choices = [("", "—"), *countries]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if Partner.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("An organisation with this name already exists."))
        return name
