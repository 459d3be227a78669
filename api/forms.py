from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import OrganisationAPIKey


class APIKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=50,
        help_text=_("What the key is for, e.g. “ERP supplier sync”."),
    )
    access = forms.ChoiceField(
        label=_("Access"),
        choices=OrganisationAPIKey.Access.choices,
        initial=OrganisationAPIKey.Access.READ_ONLY,
        widget=forms.RadioSelect,
        help_text=_(
            "A read-only key reads like a viewer; an acting key also writes (enrols, "
            "withdraws) like a staff member."
        ),
    )
