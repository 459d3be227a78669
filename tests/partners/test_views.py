import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.tenancy import status_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("brand_staff", 200),
        ("brand_viewer", 200),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        ("trainer", 404),
        (None, 302),
    ],
)
def test_partnership_detail_access(request, world, persona, expected):
    url = reverse("partners:partnership_detail", args=[world.partnership.pk])
    assert status_for(request, persona, url) == expected


def test_anonymous_is_sent_to_sign_in(world):
    url = reverse("partners:partnership_detail", args=[world.partnership.pk])
    response = client_for(None).get(url)
    assert response.url == f"{reverse('account_login')}?next={url}"


def test_partnership_list_shows_only_own_partnerships(world, brand_staff):
    response = client_for(brand_staff).get(reverse("partners:partnership_list"))
    assert response.status_code == 200
    assert "Brand A pilot" in response.text
    assert "Brand B programme" not in response.text


def test_ilo_sees_every_partnership(world, ilo_admin):
    response = client_for(ilo_admin).get(reverse("partners:partnership_list"))
    assert "Brand A pilot" in response.text
    assert "Brand B programme" in response.text


def test_partnership_detail_shows_ledger(world, brand_staff):
    response = client_for(brand_staff).get(world.partnership.get_absolute_url())
    # One active enrolment funded out of a quota of ten.
    assert "1 / 10" in response.text
    assert "Workplace Cooperation" in response.text


def test_unknown_partnership_is_404(world, ilo_admin):
    url = reverse("partners:partnership_detail", args=[999_999])
    assert client_for(ilo_admin).get(url).status_code == 404
