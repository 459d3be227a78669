import datetime
import threading

import pytest
from django.core import mail
from django.db import connection

from partners.models import Partnership
from score_portal.models import OutboundEmail
from suppliers.services import link_supplier
from tests.factories import FactoryFactory, PartnershipFactory, UserFactory
from training.models import Enrolment, EnrolmentEvent, Module
from training.selectors import progress_of
from training.services import enrolment as services
from training.services.enrolment import TrainingError

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def _refusal(results):
    return {r.factory.name: r.refusal for r in results}


# --- Refusal reasons ------------------------------------------------------------------------


def test_enrol_many_reports_each_factory(world, brand, brand_staff, module_1):
    fresh = FactoryFactory(name="Fresh Factory")
    link_supplier(brand=brand, factory=fresh, supplier_code="A-002")
    stranger = FactoryFactory(name="Not Ours")
    results = services.enrol_suppliers(
        brand=brand,
        factories=[fresh, world.factory, stranger],
        module=module_1,
        partnership=world.partnership,
        actor=brand_staff,
    )
    assert [r.enrolled for r in results] == [True, False, False]
    assert _refusal(results)["Not Ours"] == "Not on your supplier list."
    assert "already enrolled in Workplace Cooperation" in _refusal(results)[world.factory.name]


def test_prerequisite_missing(world, brand, brand_staff):
    module_2 = Module.objects.get(code="M2")
    world.partnership.modules.add(module_2)
    newcomer = FactoryFactory(name="Newcomer")
    link_supplier(brand=brand, factory=newcomer, supplier_code="A-009")
    results = services.enrol_suppliers(
        brand=brand,
        factories=[newcomer, world.factory],
        module=module_2,
        partnership=world.partnership,
        actor=brand_staff,
    )
    assert _refusal(results)["Newcomer"] == (
        "Quality Management requires Workplace Cooperation first."
    )
    assert results[1].enrolled  # world.factory is taking Module 1


def test_partnership_not_covering_module_or_country(world, brand, brand_staff, module_1):
    module_5 = Module.objects.get(code="M5")
    bangladeshi = FactoryFactory(name="Dhaka Knit", country="BD")
    link_supplier(brand=brand, factory=bangladeshi, supplier_code="A-BD")
    results = services.enrol_suppliers(
        brand=brand,
        factories=[bangladeshi],
        module=module_1,
        partnership=world.partnership,
        actor=brand_staff,
    )
    assert _refusal(results)["Dhaka Knit"] == "The partnership does not cover Bangladesh."
    with pytest.raises(TrainingError, match="does not cover Occupational Safety and Health"):
        services.enrol_factory(
            factory=world.factory, module=module_5, partnership=world.partnership, enrolled_by=None
        )


def test_quota_exhausted(world, brand, brand_staff, module_1):
    world.partnership.factory_quota = 1  # the world's enrolment already uses it
    world.partnership.save()
    other = FactoryFactory(name="One Too Many")
    link_supplier(brand=brand, factory=other, supplier_code="A-003")
    results = services.enrol_suppliers(
        brand=brand,
        factories=[other],
        module=module_1,
        partnership=world.partnership,
        actor=brand_staff,
    )
    assert _refusal(results)["One Too Many"] == "The partnership's quota of 1 factories is used up."


def test_cohort_full(world, brand, brand_staff, module_1):
    world.cohort.capacity = 1
    world.cohort.save()
    late = FactoryFactory(name="Late Comer")
    link_supplier(brand=brand, factory=late, supplier_code="A-004")
    results = services.enrol_suppliers(
        brand=brand,
        factories=[late],
        module=module_1,
        partnership=world.partnership,
        cohort=world.cohort,
        actor=brand_staff,
    )
    assert _refusal(results)["Late Comer"] == "The cohort is full (1 enterprise)."


def test_unapproved_partnership_refused(world, brand, brand_staff, module_1):
    draft = PartnershipFactory(partner=brand, status=Partnership.Status.DRAFT, modules=[module_1])
    with pytest.raises(TrainingError, match="“Draft”: it cannot fund"):
        services.enrol_factory(
            factory=FactoryFactory(), module=module_1, partnership=draft, enrolled_by=None
        )


def test_viewer_and_other_brand_cannot_enrol(
    world, brand, brand_viewer, other_brand_staff, module_1
):
    for person in (brand_viewer, other_brand_staff):
        with pytest.raises(TrainingError):
            services.enrol_suppliers(
                brand=brand,
                factories=[world.factory],
                module=module_1,
                partnership=world.partnership,
                actor=person,
            )


def test_another_brands_partnership_cannot_fund(world, brand, brand_staff, module_1):
    with pytest.raises(TrainingError, match="another organisation"):
        services.enrol_suppliers(
            brand=brand,
            factories=[world.factory],
            module=module_1,
            partnership=world.other_partnership,
            actor=brand_staff,
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_of_one_factory_make_exactly_one(catalogue, brand, brand_staff):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (run by .ci/run)")
    module_1 = Module.objects.get(code="M1")
    partnership = PartnershipFactory(partner=brand, modules=[module_1], factory_quota=50)
    factory = FactoryFactory()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            services.enrol_factory(
                factory=factory, module=module_1, partnership=partnership, enrolled_by=None
            )
            outcomes.append("enrolled")
        except TrainingError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("enrolled") == 1
    assert Enrolment.objects.filter(factory=factory, module=module_1).count() == 1


# --- The factory answers, the trainer delivers -----------------------------------------------


def test_enrolment_notifies_manager_and_provider(
    world, factory_manager, provider_staff, module_1, brand, brand_staff
):
    fresh = FactoryFactory(name="Notified Factory")
    link_supplier(brand=brand, factory=fresh, supplier_code="A-010")
    from suppliers.services import add_factory_manager

    manager = UserFactory(email="boss@notified.example.org", language="zh-hans")
    add_factory_manager(factory=fresh, user=manager)
    OutboundEmail.objects.all().delete()
    services.enrol_factory(
        factory=fresh,
        module=module_1,
        partnership=world.partnership,
        enrolled_by=brand_staff,
        cohort=world.cohort,
    )
    to = sorted(
        OutboundEmail.objects.filter(template="enrolment_notice").values_list("to", "language")
    )
    assert to == [("boss@notified.example.org", "zh-hans"), (provider_staff.email, "en")]
    # Each in its reader's language, the module's title included.
    notices = {e.to: e for e in OutboundEmail.objects.filter(template="enrolment_notice")}
    chinese = notices["boss@notified.example.org"]
    assert "工作场所合作" in chinese.subject and "Workplace Cooperation" not in chinese.body_text
    assert "Workplace Cooperation" in notices[provider_staff.email].subject


def test_factory_without_account_gets_an_invitation_and_joins_on_verification(
    world, brand, brand_staff, module_1
):
    from allauth.account.models import EmailAddress
    from allauth.account.signals import email_confirmed

    factory = FactoryFactory(name="Invited Factory", contact_email="Owner@Invited.example.org")
    link_supplier(brand=brand, factory=factory, supplier_code="A-011")
    services.enrol_factory(
        factory=factory, module=module_1, partnership=world.partnership, enrolled_by=brand_staff
    )
    invitation = OutboundEmail.objects.get(template="factory_invitation")
    assert invitation.to == "owner@invited.example.org"
    assert "/accounts/signup/" in invitation.body_text

    newcomer = UserFactory(email="owner@invited.example.org")
    address = EmailAddress.objects.get(user=newcomer)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
    assert newcomer.managed_factories.get().factory == factory


def test_confirm_decline_and_history(world, factory_manager, brand_staff, other_factory_manager):
    with pytest.raises(TrainingError, match="Only the factory's managers"):
        services.confirm_enrolment(enrolment=world.enrolment, actor=other_factory_manager)
    OutboundEmail.objects.all().delete()
    services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    assert OutboundEmail.objects.get(template="enrolment_confirmed").to == brand_staff.email
    with pytest.raises(
        TrainingError,
        match="An enrolment in the status “Confirmed” cannot move to “Declined by the factory”",
    ):
        services.decline_enrolment(enrolment=world.enrolment, actor=factory_manager)
    events = list(EnrolmentEvent.objects.filter(enrolment=world.enrolment))
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "pending"),
        ("pending", "confirmed"),
    ]
    assert events[1].actor == factory_manager


def test_participants_with_advice(confirmed, factory_manager, four_participants):
    saved = services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants[:3]
    )
    assert len(saved) == 3
    assert services.participant_advice(saved) == (
        "SCORE recommends 2 managers and 2 workers; you named 2 managers and 1 workers."
    )
    saved = services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants
    )
    assert services.participant_advice(saved) == ""
    assert confirmed.participants.count() == 4


def test_participants_need_confirmation_first(world, factory_manager, four_participants):
    with pytest.raises(TrainingError, match="Confirm the enrolment"):
        services.name_participants(
            enrolment=world.enrolment, actor=factory_manager, participants=four_participants
        )


def test_only_the_cohorts_trainer_records_delivery(confirmed, factory_manager, brand_staff):
    for person in (factory_manager, brand_staff):
        with pytest.raises(TrainingError, match="cohort's trainer"):
            services.record_visit(
                enrolment=confirmed, actor=person, kind="baseline", visited_on=TODAY
            )


def test_visits_in_order_and_not_in_the_future(confirmed, trainer):
    with pytest.raises(TrainingError, match="baseline visit first"):
        services.record_visit(
            enrolment=confirmed, actor=trainer, kind="follow_up", visited_on=TODAY
        )
    with pytest.raises(TrainingError, match="in the future"):
        services.record_visit(
            enrolment=confirmed,
            actor=trainer,
            kind="baseline",
            visited_on=TODAY + datetime.timedelta(days=2),
        )
    services.record_visit(enrolment=confirmed, actor=trainer, kind="baseline", visited_on=TODAY)
    confirmed.refresh_from_db()
    assert confirmed.status == "in_progress"  # the first delivery step starts the cycle
    with pytest.raises(TrainingError, match="already recorded"):
        services.record_visit(enrolment=confirmed, actor=trainer, kind="baseline", visited_on=TODAY)


def test_visit_notifies_the_factory(confirmed, trainer, factory_manager):
    OutboundEmail.objects.all().delete()
    services.record_visit(enrolment=confirmed, actor=trainer, kind="baseline", visited_on=TODAY)
    assert OutboundEmail.objects.get(template="visit_logged").to == factory_manager.email


def test_progress_advances_step_by_step(confirmed, trainer, factory_manager, four_participants):
    assert progress_of(confirmed).percent == 0
    assert progress_of(confirmed).next_step.key == "baseline"
    services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants
    )
    services.record_visit(enrolment=confirmed, actor=trainer, kind="baseline", visited_on=TODAY)
    confirmed.refresh_from_db()
    progress = progress_of(confirmed)
    # 7 steps for Module 1: baseline, classroom, plan, 3 visits, completed.
    assert [s.key for s in progress.steps] == [
        "baseline",
        "classroom",
        "plan",
        "visit-1",
        "visit-2",
        "visit-3",
        "completed",
    ]
    assert progress.percent == 14
    assert progress.next_step.key == "classroom"
    assert progress.next_step.when == confirmed.cohort.classroom_start


def test_completion_refused_with_missing_steps(confirmed, trainer):
    services.record_visit(enrolment=confirmed, actor=trainer, kind="baseline", visited_on=TODAY)
    confirmed.refresh_from_db()
    with pytest.raises(TrainingError) as error:
        services.complete_enrolment(enrolment=confirmed, actor=trainer)
    assert str(error.value).startswith(
        "Not all steps are done yet: Classroom, Improvement plan, Follow-up visit 1, "
        "Follow-up visit 2, Follow-up visit 3. The classroom ends on "
    )
    confirmed.refresh_from_db()
    assert confirmed.status == "in_progress"


def test_completion_when_every_step_is_done(delivered, trainer, factory_manager, brand_staff):
    assert progress_of(delivered).percent == 86
    OutboundEmail.objects.all().delete()
    services.complete_enrolment(enrolment=delivered, actor=trainer)
    delivered.refresh_from_db()
    assert delivered.status == "completed"
    assert delivered.completed_at is not None
    assert progress_of(delivered).percent == 100
    assert delivered.certificates.count() == 1
    completed_to = set(
        OutboundEmail.objects.filter(template="enrolment_completed").values_list("to", flat=True)
    )
    assert completed_to == {factory_manager.email, brand_staff.email}


def test_withdrawal_releases_the_place(world, brand_staff, factory_manager, module_1):
    from partners.selectors import ledger_of

    assert ledger_of(world.partnership).funded == 1
    with pytest.raises(TrainingError, match="reason"):
        services.withdraw_enrolment(enrolment=world.enrolment, actor=brand_staff, reason=" ")
    with pytest.raises(TrainingError, match="funding partner or the ILO"):
        services.withdraw_enrolment(enrolment=world.enrolment, actor=factory_manager, reason="x")
    services.withdraw_enrolment(enrolment=world.enrolment, actor=brand_staff, reason="Closed")
    world.enrolment.refresh_from_db()
    assert (world.enrolment.status, world.enrolment.withdrawal_reason) == ("withdrawn", "Closed")
    assert ledger_of(world.partnership).funded == 0
    # The module can be taken again later.
    services.enrol_factory(
        factory=world.factory, module=module_1, partnership=world.partnership, enrolled_by=None
    )


# --- Reminders --------------------------------------------------------------------------------


def test_classroom_reminder_goes_out_once(
    confirmed, factory_manager, django_capture_on_commit_callbacks
):
    from training.tasks import send_classroom_reminders

    start = confirmed.cohort.classroom_start
    OutboundEmail.objects.all().delete()
    assert services.send_classroom_reminders(today=start - datetime.timedelta(days=10)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_classroom_reminders(today=start - datetime.timedelta(days=3)) == 1
        assert services.send_classroom_reminders(today=start - datetime.timedelta(days=2)) == 0
    assert send_classroom_reminders.apply().get() == 0  # the beat task, run again: nothing new
    reminders = [m for m in mail.outbox if "Reminder" in m.subject]
    assert len(reminders) == 1
    assert reminders[0].to == [factory_manager.email]
