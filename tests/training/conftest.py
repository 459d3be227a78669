import datetime

import pytest

from tests.conftest import hold_classroom
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


@pytest.fixture
def delivered(confirmed, factory_manager, trainer, four_participants):
    """Every step done but completion: baseline, classroom, plan, three follow-up visits."""
    today = datetime.date.today()
    services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants
    )
    services.record_visit(enrolment=confirmed, actor=trainer, kind="baseline", visited_on=today)
    hold_classroom(confirmed, trainer)
    action = services.add_improvement_action(
        enrolment=confirmed,
        actor=factory_manager,
        description="Set up a suggestion box",
        owner="EIT",
        due_date=today,
    )
    for _ in range(3):
        services.record_visit(
            enrolment=confirmed,
            actor=trainer,
            kind="follow_up",
            visited_on=today,
            actions_reviewed=[action],
        )
    confirmed.refresh_from_db()
    return confirmed
