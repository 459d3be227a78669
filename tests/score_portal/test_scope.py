"""The user's scope: one query per request, and what it holds for each kind of user."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.models import Membership
from partners.services import add_member
from score_portal.scope import forget_scope, scope_of
from suppliers.services import add_factory_manager
from tests.factories import UserFactory
from training.models import Enrolment
from training.services import certify_trainer, create_cohort

pytestmark = pytest.mark.django_db


def _open_cohort(*, trainer, provider, module):
    return create_cohort(
        module=module,
        provider=provider,
        trainer=trainer,
        venue_city="Bursa",
        venue_country="TR",
        language="tr",
        classroom_start=datetime.date.today(),
        classroom_end=datetime.date.today(),
    )


def test_scope_is_one_query_and_cached_for_the_request(world, trainer):
    forget_scope(trainer)
    with CaptureQueriesContext(connection) as queries:
        scope = scope_of(trainer)
        assert scope_of(trainer) is scope
    assert len(queries) == 1
    assert scope.trained_cohort_ids == {world.cohort.pk}
    assert set(scope.provider_roles.values()) == {Membership.Role.TRAINER}


def test_a_person_with_every_kind_of_tie_has_them_all(world, brand, provider, module_1):
    """Brand member, provider trainer and factory manager at once: all three in one scope."""
    person = UserFactory(email="many-hats@example.org")
    add_member(partner=brand, user=person, role=Membership.Role.STAFF)
    add_member(partner=provider, user=person, role=Membership.Role.TRAINER)
    add_factory_manager(factory=world.other_factory, user=person)
    certify_trainer(trainer=person, module=module_1, certified_on=datetime.date(2024, 1, 1))
    cohort = _open_cohort(trainer=person, provider=provider, module=module_1)
    scope = scope_of(person)
    assert scope.funding_roles == {brand.pk: Membership.Role.STAFF}
    assert scope.provider_roles == {provider.pk: Membership.Role.TRAINER}
    assert scope.factory_ids == {world.other_factory.pk}
    assert scope.trained_cohort_ids == {cohort.pk}
    # Brand A's enrolment (funded) and brand B's (their own factory's) are both in reach.
    assert set(Enrolment.objects.visible_to(scope_of(person))) == {
        world.enrolment,
        world.other_enrolment,
    }


def test_a_new_cohort_is_in_the_trainers_reach_at_once(world, trainer, provider, module_1):
    before = scope_of(trainer)  # cached on the user object for this "request"
    cohort = _open_cohort(trainer=trainer, provider=provider, module=module_1)
    assert cohort.pk not in before.trained_cohort_ids
    assert cohort.pk in scope_of(trainer).trained_cohort_ids


def test_someone_with_no_tie_sees_no_enrolment(world):
    nobody = UserFactory(email="nobody@example.org")
    assert scope_of(nobody).trained_cohort_ids == frozenset()
    assert not Enrolment.objects.visible_to(scope_of(nobody)).exists()
