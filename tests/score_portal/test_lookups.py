"""``field__any_of``: the same rows as ``field__in``, with the values as one parameter on
PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from partners.models import Partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def partners() -> list[Partner]:
    return [Partner.objects.create(name=f"Brand {n}", kind="brand") for n in range(5)]


@pytest.mark.parametrize("pick", [[0], [1, 3], [0, 1, 2, 3, 4]])
def test_any_of_selects_what_in_selects(partners, pick):
    ids = {partners[n].pk for n in pick}
    names = {partners[n].name for n in pick}
    assert set(Partner.objects.filter(pk__any_of=ids)) == set(Partner.objects.filter(pk__in=ids))
    assert set(Partner.objects.filter(name__any_of=names).values_list("pk", flat=True)) == ids


def test_any_of_nothing_is_no_row(partners):
    assert not Partner.objects.filter(pk__any_of=[]).exists()
    assert Partner.objects.exclude(pk__any_of=[]).count() == len(partners)


def test_any_of_sends_one_parameter_on_postgresql(partners):
    sql, params = Partner.objects.filter(
        pk__any_of=[p.pk for p in partners]
    ).query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and len(params) == 1
    else:
        assert " IN (" in sql and len(params) == len(partners)
