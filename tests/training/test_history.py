"""History of an enrolment and its parts, and of cohorts: written by the services with their
actor, shown on the object's page to those who may see it (score_portal.history)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from score_portal.history import acting, change_rows
from tests.conftest import client_for
from tests.factories import held_classroom
from training.models import Cohort, ConsultingVisit, Enrolment, ImprovementAction, Participant
from training.selectors import cohort_history, enrolment_history
from training.services import enrolment as services

pytestmark = pytest.mark.django_db


def _latest(model, **filters):
    return model.history.filter(**filters).order_by("-history_date", "-history_id").first()


def _changes(entries, subject_part):
    """{field label: (old, new)} of the newest entry whose subject contains ``subject_part``."""
    entry = next(e for e in entries if subject_part in e.subject)
    return {c.label: (c.old, c.new) for c in entry.changes}, entry


def test_enrolment_and_its_moves_are_recorded_with_the_actor(world, brand_staff, factory_manager):
    enrolment = world.enrolment
    created = _latest(Enrolment, id=enrolment.pk)
    assert created.history_type == "+"
    assert created.history_user == brand_staff

    services.confirm_enrolment(enrolment=enrolment, actor=factory_manager)
    changes, entry = _changes(enrolment_history(enrolment), "Enrolment")
    assert entry.who == factory_manager
    assert entry.action == "changed"
    assert changes["Status"] == ("Awaiting factory confirmation", "Confirmed")


def test_participants_record_what_changed_not_a_new_list(
    confirmed, factory_manager, four_participants
):
    services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants
    )
    first_ids = set(confirmed.participants.values_list("pk", flat=True))
    corrected = [dict(p) for p in four_participants[:3]]
    corrected[2]["gender"] = "man"  # 张丽 corrected; 陈伟 no longer comes
    services.name_participants(enrolment=confirmed, actor=factory_manager, participants=corrected)

    assert set(confirmed.participants.values_list("pk", flat=True)) < first_ids  # rows kept
    entries = enrolment_history(confirmed)
    changes, entry = _changes(entries, "张丽")
    assert entry.action == "changed"
    assert entry.who == factory_manager
    assert changes == {"Gender": ("Woman", "Man")}
    _changes_removed, removed = _changes(entries, "陈伟")
    assert removed.action == "deleted"
    assert removed.who == factory_manager
    # An unchanged person writes no row on the second save.
    assert Participant.history.filter(name="王芳").count() == 1


def test_attendance_visits_and_plan_are_recorded_with_the_actor(delivered, trainer):
    entries = enrolment_history(delivered)
    attendance, entry = _changes(entries, "王芳")
    assert entry.who == trainer
    assert attendance["Attended the classroom"] == ("—", "yes")

    visit = delivered.visits.get(kind="follow_up", number=3)
    rows = ConsultingVisit.history.filter(id=visit.pk)
    assert {row.history_user for row in rows} == {trainer}
    changes, entry = _changes(entries, "Follow-up visit 3")
    assert entry.who == trainer
    # The actions checked during the visit (a many-to-many field) are in its history.
    assert changes["Actions checked"] == ("—", "Set up a suggestion box")


def test_improvement_action_status_change_names_old_and_new(confirmed, factory_manager, trainer):
    action = services.add_improvement_action(
        enrolment=confirmed,
        actor=factory_manager,
        description="Mark the fire exits",
        owner="EIT",
        due_date=datetime.date.today(),
    )
    services.update_action_status(action=action, actor=trainer, status="done")
    services.update_action_status(action=action, actor=trainer, status="done")  # no change

    assert ImprovementAction.history.filter(id=action.pk).count() == 2
    changes, entry = _changes(enrolment_history(confirmed), "Mark the fire exits")
    assert entry.who == trainer
    assert changes == {"Status": ("Open", "Done")}


def test_withdrawal_is_recorded_with_its_reason_field(world, brand_staff):
    services.withdraw_enrolment(enrolment=world.enrolment, actor=brand_staff, reason="Closed")
    changes, entry = _changes(enrolment_history(world.enrolment), "Enrolment")
    assert entry.who == brand_staff
    assert changes["Status"][1] == "Withdrawn"
    assert changes["Reason for withdrawal"] == ("—", "Closed")


def test_labels_and_choices_in_the_readers_language(confirmed, brand_staff):
    services.withdraw_enrolment(enrolment=confirmed, actor=brand_staff, reason="Closed down")
    with translation.override("es"):
        entries = enrolment_history(confirmed)
    latest = {c.label: c.new for c in entries[0].changes}
    assert latest["Estado"] == "Retirada"
    assert "Closed down" in latest.values()


def test_a_write_outside_any_service_names_no_one_and_a_block_names_its_actor(world, ilo_admin):
    cohort = world.cohort
    cohort.capacity = 6
    cohort.save()
    assert _latest(Cohort, id=cohort.pk).history_user is None
    with acting(ilo_admin):
        cohort.venue_city = "Shenzhen"
        cohort.save()
    entries = cohort_history(cohort)
    assert entries[0].who == ilo_admin
    assert {c.label: (c.old, c.new) for c in entries[0].changes} == {
        "Venue city": ("Dongguan", "Shenzhen")
    }
    assert {c.label: (c.old, c.new) for c in entries[1].changes} == {
        "Capacity (enterprises)": ("5", "6")
    }


def test_cohort_creation_names_the_provider_staff(world, provider, trainer, provider_staff):
    cohort = services.create_cohort(
        module=world.cohort.module,
        provider=provider,
        trainer=trainer,
        venue_city="Bursa",
        venue_country="TR",
        language="tr",
        classroom_start=datetime.date.today() + datetime.timedelta(days=30),
        classroom_end=datetime.date.today() + datetime.timedelta(days=31),
        actor=provider_staff,
    )
    (entry,) = cohort_history(cohort)
    assert entry.action == "created"
    assert entry.who == provider_staff
    values = {c.label: c.new for c in entry.changes}
    assert values["Venue country"] == "Türkiye"
    assert values["Language"] == "Turkish"


def test_history_queries_do_not_grow_with_rows(delivered, django_assert_max_num_queries):
    # rows + m2m rows + one per related model named, per model: a constant.
    with django_assert_max_num_queries(14):
        enrolment_history(delivered)


def test_change_rows_shows_a_deleted_related_row(delivered):
    action = delivered.improvement_actions.get()
    visit = delivered.visits.get(kind="follow_up", number=1)
    visit.actions_reviewed.clear()
    action.delete()
    entries = change_rows(ConsultingVisit.history.filter(id=visit.pk))
    assert entries[0].changes[0].old == "(deleted)"


# --- The pages -------------------------------------------------------------------------------


ENROLMENT_READERS = ["brand_staff", "factory_manager", "trainer", "ilo_admin"]
OUTSIDERS = ["other_brand_staff", "other_factory_manager"]


@pytest.mark.parametrize("persona", ENROLMENT_READERS)
def test_enrolment_page_shows_the_history_to_those_who_see_it(request, delivered, persona):
    response = client_for(request.getfixturevalue(persona)).get(delivered.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Record of changes" in page
    assert 'data-testid="change-history"' in page
    assert "Attended the classroom" in page
    assert "Follow-up visit 3" in page


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_enrolment_history_is_404_for_outsiders(request, delivered, persona):
    response = client_for(request.getfixturevalue(persona)).get(delivered.get_absolute_url())
    assert response.status_code == 404


def test_enrolment_page_history_names_old_and_new_values(
    client, confirmed, factory_manager, brand_staff
):
    services.withdraw_enrolment(enrolment=confirmed, actor=brand_staff, reason="Closed down")
    page = client_for(factory_manager).get(confirmed.get_absolute_url()).content.decode()
    assert "Reason for withdrawal" in page
    assert "<del>Confirmed</del> → <ins>Withdrawn</ins>" in page


def test_cohort_page_shows_its_history_and_404s_for_outsiders(world, trainer, other_brand_staff):
    url = reverse("training:cohort_detail", args=[world.cohort.pk])
    with acting(trainer):
        world.cohort.capacity = 4
        world.cohort.save()
    page = client_for(trainer).get(url).content.decode()
    assert "Record of changes" in page
    assert "<del>5</del> → <ins>4</ins>" in page
    assert client_for(other_brand_staff).get(url).status_code == 404


def test_participants_form_through_the_view_names_the_signed_in_manager(confirmed, factory_manager):
    url = reverse("training:enrolment_act", args=[confirmed.pk, "participants"])
    rows = [("Ayşe Yılmaz", "manager", "woman"), ("Mehmet Kaya", "worker", "man")]
    data = {"form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "0"}
    for i, (name, role, gender) in enumerate(rows):
        data |= {f"form-{i}-name": name, f"form-{i}-role": role, f"form-{i}-gender": gender}
    client_for(factory_manager).post(url, data)
    assert Participant.history.filter(name="Ayşe Yılmaz").get().history_user == factory_manager


def test_a_save_and_its_many_to_many_read_as_one_change(confirmed, trainer):
    """record_visit saves the visit, then the actions checked: one entry, not two."""
    held_classroom(confirmed.cohort)  # follow-up visits come after the classroom
    visit = services.record_visit(
        enrolment=confirmed,
        actor=trainer,
        kind="baseline",
        visited_on=confirmed.cohort.classroom_start,
    )
    assert ConsultingVisit.history.filter(id=visit.pk).count() == 1  # no action: no m2m row
    action = services.add_improvement_action(
        enrolment=confirmed,
        actor=trainer,
        description="Sort the waste",
        owner="EIT",
        due_date=datetime.date.today(),
    )
    follow_up = services.record_visit(
        enrolment=confirmed,
        actor=trainer,
        kind="follow_up",
        visited_on=datetime.date.today(),
        actions_reviewed=[action],
    )
    assert ConsultingVisit.history.filter(id=follow_up.pk).count() == 2
    entries = [e for e in enrolment_history(confirmed) if e.subject == "Follow-up visit 1"]
    assert [e.action for e in entries] == ["created"]
    assert {c.label: c.new for c in entries[0].changes}["Actions checked"] == "Sort the waste"
