import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from partners.models import Partnership, PartnershipEvent
from partners.selectors import ledger_of
from partners.services import (
    TRANSITIONS,
    PartnershipError,
    allowed_moves,
    save_draft,
    transition,
)
from score_portal.models import OutboundEmail
from score_portal.tasks import deliver_email
from tests.factories import FactoryFactory
from training.models import Enrolment
from training.services import TrainingError, enrol_factory
from training.services.enrolment import funding_refusal

pytestmark = pytest.mark.django_db

# The lifecycle, written out from the README ("Partnership lifecycle"), not read from
# TRANSITIONS: a wrong change to the table fails these tests.
ILO_MOVES = [
    ("submitted", "approved"),
    ("submitted", "rejected"),
    ("submitted", "changes_requested"),
    ("approved", "suspended"),
    ("suspended", "approved"),
    ("approved", "closed"),
    ("suspended", "closed"),  # reinstating only to close would record a false approval
]
APPLICANT_MOVES = [("draft", "submitted"), ("changes_requested", "submitted")]
# Every other move from each status.
FORBIDDEN_FROM = {
    "draft": ["draft", "changes_requested", "approved", "rejected", "suspended", "closed"],
    "submitted": ["draft", "submitted", "suspended", "closed"],
    "changes_requested": [
        "draft",
        "changes_requested",
        "approved",
        "rejected",
        "suspended",
        "closed",
    ],
    "approved": ["draft", "submitted", "changes_requested", "approved", "rejected"],
    "rejected": [
        "draft",
        "submitted",
        "changes_requested",
        "approved",
        "rejected",
        "suspended",
        "closed",
    ],
    "suspended": ["draft", "submitted", "changes_requested", "rejected", "suspended"],
    "closed": [
        "draft",
        "submitted",
        "changes_requested",
        "approved",
        "rejected",
        "suspended",
        "closed",
    ],
}
FORBIDDEN = [(f, t) for f, targets in FORBIDDEN_FROM.items() for t in targets]


def test_the_transition_table_is_the_documented_lifecycle():
    documented = {move: "ilo" for move in ILO_MOVES}
    documented.update({move: "applicant" for move in APPLICANT_MOVES})
    assert dict(TRANSITIONS.moves) == documented
    # The lists above name every status and every pair once.
    assert sorted(FORBIDDEN_FROM) == sorted(Partnership.Status.values)
    every_pair = ILO_MOVES + APPLICANT_MOVES + FORBIDDEN
    assert len(every_pair) == len(set(every_pair)) == len(Partnership.Status.values) ** 2


def _force_status(partnership: Partnership, status: str) -> Partnership:
    Partnership.objects.filter(pk=partnership.pk).update(status=status)
    partnership.refresh_from_db()
    return partnership


def test_draft_is_saved_and_recorded(draft, brand_staff):
    assert draft.status == "draft"
    assert draft.created_by == brand_staff
    assert [(e.from_status, e.to_status) for e in draft.events.all()] == [("", "draft")]


def test_incomplete_draft_can_be_saved_but_not_submitted(brand, brand_staff):
    draft = save_draft(partner=brand, actor=brand_staff, values={"kind": "ppp", "title": ""})
    with pytest.raises(PartnershipError) as error:
        transition(partnership=draft, actor=brand_staff, to_status="submitted")
    message = str(error.value)
    for missing in ("a title", "at least one country", "at least one module", "dates"):
        assert missing in message
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert draft.events.count() == 1


@pytest.mark.parametrize(("from_status", "to_status"), ILO_MOVES)
def test_every_allowed_ilo_move(draft, ilo_admin, from_status, to_status):
    partnership = _force_status(draft, from_status)
    result = transition(
        partnership=partnership, actor=ilo_admin, to_status=to_status, note="Reviewed."
    )
    assert result.status == to_status
    event = PartnershipEvent.objects.filter(partnership=draft).last()
    assert (event.from_status, event.to_status, event.actor, event.note) == (
        from_status,
        to_status,
        ilo_admin,
        "Reviewed.",
    )


@pytest.mark.parametrize(("from_status", "to_status"), APPLICANT_MOVES)
def test_applicant_submits(draft, brand_staff, from_status, to_status):
    partnership = _force_status(draft, from_status)
    assert transition(partnership=partnership, actor=brand_staff, to_status=to_status).status == (
        to_status
    )


@pytest.mark.parametrize(("from_status", "to_status"), FORBIDDEN)
def test_every_forbidden_move_is_refused_and_changes_nothing(
    draft, ilo_admin, from_status, to_status
):
    partnership = _force_status(draft, from_status)
    events_before = partnership.events.count()
    with pytest.raises(PartnershipError, match="cannot be moved to"):
        transition(partnership=partnership, actor=ilo_admin, to_status=to_status, note="x")
    partnership.refresh_from_db()
    assert partnership.status == from_status
    assert partnership.events.count() == events_before
    assert not OutboundEmail.objects.exists()


def test_unknown_status_is_refused(draft, ilo_admin):
    with pytest.raises(PartnershipError):
        transition(partnership=draft, actor=ilo_admin, to_status="launched", note="x")


def test_only_the_ilo_decides(submitted, brand_staff, other_brand_staff):
    for person in (brand_staff, other_brand_staff):
        with pytest.raises(PartnershipError, match="Only ILO administrators"):
            transition(partnership=submitted, actor=person, to_status="approved", note="ok")
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_a_decision_needs_a_note(submitted, ilo_admin):
    with pytest.raises(PartnershipError, match="note"):
        transition(partnership=submitted, actor=ilo_admin, to_status="approved", note="   ")
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_viewers_and_outsiders_cannot_submit(draft, brand_viewer, other_brand_staff, ilo_admin):
    for person in (brand_viewer, other_brand_staff):
        with pytest.raises(PartnershipError, match="administrators and staff"):
            transition(partnership=draft, actor=person, to_status="submitted")
    # The ILO reviews applications; it does not submit them on a partner's behalf.
    with pytest.raises(PartnershipError):
        transition(partnership=draft, actor=ilo_admin, to_status="submitted")


def test_submitting_locks_the_application(submitted, brand, brand_staff, complete_values):
    with pytest.raises(PartnershipError, match="can no longer be edited"):
        save_draft(
            partner=brand,
            actor=brand_staff,
            values={**complete_values, "title": "Changed"},
            partnership=submitted,
        )
    submitted.refresh_from_db()
    assert submitted.title == "Brand A SCORE programme 2027"


def test_changes_requested_reopens_editing(submitted, ilo_admin, brand, brand_staff):
    transition(
        partnership=submitted, actor=ilo_admin, to_status="changes_requested", note="Budget?"
    )
    edited = save_draft(
        partner=brand,
        actor=brand_staff,
        values={"budget": Decimal("55000")},
        modules=submitted.modules.all(),
        partnership=submitted,
    )
    assert edited.budget == Decimal("55000")
    assert transition(partnership=edited, actor=brand_staff, to_status="submitted").status == (
        "submitted"
    )


def test_viewer_cannot_draft(brand, brand_viewer):
    with pytest.raises(PartnershipError):
        save_draft(partner=brand, actor=brand_viewer, values={"kind": "ppp"})
    assert not Partnership.objects.exists()


def test_allowed_moves_follow_the_actor(submitted, ilo_admin, brand_staff):
    assert set(allowed_moves(submitted, ilo_admin)) == {"approved", "rejected", "changes_requested"}
    assert allowed_moves(submitted, brand_staff) == []


# --- Notifications ------------------------------------------------------------------------


def test_submission_notifies_the_ilo_deciders(draft, brand_staff, ilo_admin, ilo):
    from partners.services import add_member
    from tests.factories import UserFactory

    viewer = UserFactory(email="viewer@ilo.example.org")
    add_member(partner=ilo, user=viewer, role="viewer")
    transition(partnership=draft, actor=brand_staff, to_status="submitted")
    queued = OutboundEmail.objects.get()
    assert queued.to == ilo_admin.email
    assert queued.template == "partnership_submitted"
    assert "Brand A" in queued.subject
    assert draft.get_absolute_url() in queued.body_text


def test_decision_notifies_the_applicants_people_in_their_language(
    submitted, ilo_admin, brand_staff, brand_viewer, other_brand_staff
):
    brand_viewer.language = "tr"
    brand_viewer.save()
    OutboundEmail.objects.all().delete()
    transition(partnership=submitted, actor=ilo_admin, to_status="approved", note="Welcome.")
    emails = {e.to: e for e in OutboundEmail.objects.filter(template="partnership_decided")}
    assert set(emails) == {brand_staff.email, brand_viewer.email}
    assert "Approved" in emails[brand_staff.email].subject
    assert "Welcome." in emails[brand_staff.email].body_text
    # A sentence, not a status label dropped into "is now …".
    assert (
        "The partnership “Brand A SCORE programme 2027” was approved."
        in emails[brand_staff.email].body_text
    )
    assert emails[brand_viewer.email].language == "tr"
    with translation.override("tr"):
        turkish_status = str(Partnership.Status.APPROVED.label).lower()
    assert turkish_status != "approved"
    assert turkish_status in emails[brand_viewer.email].subject.lower()


def test_emails_go_out_after_commit_once_even_if_the_task_runs_twice(
    draft, brand_staff, ilo_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        transition(partnership=draft, actor=brand_staff, to_status="submitted")
    assert len(mail.outbox) == 1
    email = OutboundEmail.objects.get()
    deliver_email.apply(args=[email.pk])
    deliver_email.apply(args=[email.pk])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [ilo_admin.email]


def test_a_refused_move_queues_nothing(draft, ilo_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PartnershipError):
        transition(partnership=draft, actor=ilo_admin, to_status="approved", note="x")
    assert mail.outbox == []
    assert not OutboundEmail.objects.exists()


# --- Ledger and funding -------------------------------------------------------------------


def test_ledger_is_derived_from_enrolments(approved, module_1, brand_staff):
    factories = [FactoryFactory() for _ in range(3)]
    enrolments = [
        enrol_factory(factory=f, module=module_1, partnership=approved, enrolled_by=brand_staff)
        for f in factories
    ]
    ledger = ledger_of(approved)
    assert (ledger.funded, ledger.places_left) == (3, 1)
    assert ledger.budget_committed == Decimal("30000.00")
    assert ledger.budget_left == Decimal("10000.00")
    assert ledger.partner_pays == Decimal("22500.00")  # 75 % of what is committed
    # Withdrawing releases the place.
    Enrolment.objects.filter(pk=enrolments[0].pk).update(
        status="withdrawn", withdrawal_reason="Factory closed"
    )
    assert ledger_of(approved).places_left == 2


def test_quota_exhausted_refuses_with_reason(approved, module_1, brand_staff):
    for _ in range(4):
        enrol_factory(
            factory=FactoryFactory(), module=module_1, partnership=approved, enrolled_by=None
        )
    with pytest.raises(TrainingError, match="quota of 4 factories is used up"):
        enrol_factory(
            factory=FactoryFactory(), module=module_1, partnership=approved, enrolled_by=None
        )
    assert approved.enrolments.count() == 4


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("draft", "Draft"),
        ("submitted", "Submitted"),
        ("suspended", "Suspended"),
        ("closed", "Closed"),
        ("rejected", "Rejected"),
        ("changes_requested", "Changes requested"),
    ],
)
def test_only_an_approved_partnership_funds(draft, module_1, status, reason):
    partnership = _force_status(draft, status)
    refusal = funding_refusal(
        partnership=partnership,
        factory=FactoryFactory(),
        module=module_1,
        on=datetime.date.today(),
    )
    assert refusal == f"The partnership’s status is “{reason}”: it cannot fund new enrolments."


def test_funding_only_within_dates_module_and_countries(approved, module_1):
    factory = FactoryFactory(country="CN")
    today = datetime.date.today()
    assert funding_refusal(partnership=approved, factory=factory, module=module_1, on=today) is None
    late = today + datetime.timedelta(days=400)
    assert "does not run on" in funding_refusal(
        partnership=approved, factory=factory, module=module_1, on=late
    )
    from training.models import Module

    module_2 = Module.objects.get(code="M2")
    assert "does not cover Quality Management" in funding_refusal(
        partnership=approved, factory=factory, module=module_2, on=today
    )
    bangladeshi = FactoryFactory(country="BD")
    assert "does not cover Bangladesh" in funding_refusal(
        partnership=approved, factory=bangladeshi, module=module_1, on=today
    )


def test_suspended_partnership_keeps_its_history(approved, ilo_admin, module_1):
    enrolment = enrol_factory(
        factory=FactoryFactory(), module=module_1, partnership=approved, enrolled_by=None
    )
    transition(partnership=approved, actor=ilo_admin, to_status="suspended", note="Audit.")
    with pytest.raises(TrainingError, match="“Suspended”"):
        enrol_factory(
            factory=FactoryFactory(), module=module_1, partnership=approved, enrolled_by=None
        )
    enrolment.refresh_from_db()
    assert enrolment.status == "pending"
    assert ledger_of(approved).funded == 1
    transition(partnership=approved, actor=ilo_admin, to_status="approved", note="Resolved.")
    assert [e.to_status for e in approved.events.all()] == [
        "draft",
        "submitted",
        "approved",
        "suspended",
        "approved",
    ]
