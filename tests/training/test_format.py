"""KPI readings read as they were entered, in the reader's number format."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from training.catalogue import translated
from training.templatetags.training_format import reading


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("9.500"), "9.5"),
        (Decimal("12.000"), "12"),
        (Decimal("10.000"), "10"),
        (Decimal("0.125"), "0.125"),
        (Decimal("-3.250"), "-3.25"),
        (Decimal("0.000"), "0"),
        (None, ""),
    ],
)
def test_a_reading_shows_the_decimals_it_has(value, shown):
    assert reading(value) == shown


def test_a_reading_follows_the_language_number_format(settings):
    settings.USE_THOUSAND_SEPARATOR = False
    with translation.override("tr"):
        assert reading(Decimal("9.500")) == "9,5"


def test_catalogue_texts_read_in_the_active_language():
    with translation.override("zh-hans"):
        assert translated("Workplace Cooperation") == "工作场所合作"
        # A unit after a number: "2 /月" reads "2 per month" ("2 每月" did not).
        assert translated("per month") == "/月"
        assert translated("A module an ILO admin added") == "A module an ILO admin added"
        assert translated("") == ""  # not gettext's catalogue header
