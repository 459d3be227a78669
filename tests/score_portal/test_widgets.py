"""The shared country select writes exactly what Django's own Select writes."""

from __future__ import annotations

import pytest
from django import forms
from django.http import QueryDict
from django.utils import translation

from partners.filters import PartnershipFilter
from partners.models import Partnership
from score_portal.widgets import CountrySelect
from suppliers.filters import FactoryFilter
from suppliers.models import Factory


@pytest.mark.parametrize("language", ["en", "tr", "zh-hans"])
@pytest.mark.parametrize("chosen", ["", "TR", "CI"])  # CI: Côte d'Ivoire, an apostrophe
@pytest.mark.parametrize(
    "make", [lambda q: FactoryFilter(q, queryset=Factory.objects.none()),
             lambda q: PartnershipFilter(q, queryset=Partnership.objects.none())],
    ids=["supplier filter", "partnership filter"],
)  # fmt: skip
def test_country_select_renders_as_django_does(make, chosen, language):
    with translation.override(language):
        field = make(QueryDict(f"country={chosen}")).form["country"]
        assert isinstance(field.field.widget, CountrySelect)
        fast = str(field)
        field.field.widget = forms.Select(choices=field.field.widget.choices)
        assert fast == str(field)
    assert fast.count("<option") > 240
    assert fast.count(" selected") == 1


def test_country_select_keeps_each_language_apart():
    filters = []
    for language in ("en", "tr"):
        with translation.override(language):
            filters.append(str(FactoryFilter(QueryDict(), queryset=None).form["country"]))
    assert "Turkey" in filters[0] or "Türkiye" in filters[0]
    assert "Almanya" in filters[1] and "Almanya" not in filters[0]  # Germany, in Turkish
