import datetime

import pytest

from tests.conftest import hold_classroom
from training.models import Cohort
from training.services import enrolment as services


@pytest.fixture
def confirmed(world, factory_manager):
    services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    world.enrolment.refresh_from_db()
    return world.enrolment


@pytest.fixture
def four_participants():
    return [
        {"name": "王芳", "position": "Production manager", "role": "manager", "gender": "woman"},
        {"name": "李强", "position": "HR manager", "role": "manager", "gender": "man"},
        {"name": "张丽", "position": "Sewing operator", "role": "worker", "gender": "woman"},
        {"name": "陈伟", "position": "Cutter", "role": "worker", "gender": "man"},
    ]


def held_classroom(cohort, *, days_ago: int = 40) -> None:
    """Move ``cohort``'s two classroom days into the past (``days_ago`` and the day after), so
    a cycle can be delivered in time order up to today."""
    start = datetime.date.today() - datetime.timedelta(days=days_ago)
    Cohort.objects.filter(pk=cohort.pk).update(
        classroom_start=start, classroom_end=start + datetime.timedelta(days=1)
    )
    cohort.refresh_from_db()


@pytest.fixture
def delivered(confirmed, factory_manager, trainer, four_participants):
    """Every step done but completion, in time order: baseline (before the classroom held 40
    and 39 days ago), classroom, plan, three follow-up visits (30, 20 and 10 days ago)."""
    today = datetime.date.today()
    held_classroom(confirmed.cohort)
    services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants
    )
    services.record_visit(
        enrolment=confirmed,
        actor=trainer,
        kind="baseline",
        visited_on=today - datetime.timedelta(days=45),
    )
    hold_classroom(confirmed, trainer)
    action = services.add_improvement_action(
        enrolment=confirmed,
        actor=factory_manager,
        description="Set up a suggestion box",
        owner="EIT",
        due_date=today,
    )
    for days_ago in (30, 20, 10):
        services.record_visit(
            enrolment=confirmed,
            actor=trainer,
            kind="follow_up",
            visited_on=today - datetime.timedelta(days=days_ago),
            actions_reviewed=[action],
        )
    confirmed.refresh_from_db()
    return confirmed
