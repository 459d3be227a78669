import datetime

import pytest

from partners.models import Partnership
from partners.services import save_draft, transition


@pytest.fixture
def complete_values():
    today = datetime.date.today()
    return {
        "kind": Partnership.Kind.PPP,
        "title": "Brand A SCORE programme 2027",
        "countries": ["CN", "TR"],
        "factory_quota": 4,
        "budget": 40_000,
        "currency": "EUR",
        "brand_share_percent": 75,
        "start_date": today - datetime.timedelta(days=1),
        "end_date": today + datetime.timedelta(days=365),
        "contact_name": "Ana Ruiz",
        "contact_email": "ana@brand-a.example.org",
    }


@pytest.fixture
def draft(brand, brand_staff, module_1, complete_values) -> Partnership:
    return save_draft(partner=brand, actor=brand_staff, values=complete_values, modules=[module_1])


@pytest.fixture
def submitted(draft, brand_staff) -> Partnership:
    return transition(partnership=draft, actor=brand_staff, to_status="submitted")


@pytest.fixture
def approved(submitted, ilo_admin) -> Partnership:
    return transition(
        partnership=submitted, actor=ilo_admin, to_status="approved", note="Welcome aboard."
    )


@pytest.fixture
def draft_for_views(world, draft):
    """A draft of brand A beside the two-tenant world (other brand, factory, trainer)."""
    return draft


@pytest.fixture
def submitted_for_views(world, submitted):
    return submitted
