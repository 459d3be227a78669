"""Training's kinds of notice (score_portal.notices): enrolments, delivery, certificates."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from score_portal.notices import register_kind
from score_portal.scope import Scope


def _factory(scope: Scope) -> bool:
    return bool(scope.factory_ids)


def _funder(scope: Scope) -> bool:
    return bool(scope.funding_ids)


register_kind(
    "enrolment_notice",
    label=_("New enrolments"),
    templates=["enrolment_notice"],
    audience=lambda scope: bool(scope.factory_ids or scope.provider_acting_ids),
    order=30,
)
register_kind(
    "enrolment_placed",
    label=_("Enrolments placed in a cohort"),
    templates=["enrolment_placed"],
    audience=_factory,
    order=31,
)
register_kind(
    "enrolment_confirmed",
    label=_("Enrolments confirmed by the factory"),
    templates=["enrolment_confirmed"],
    audience=_funder,
    order=32,
)
register_kind(
    "classroom_reminder",
    label=_("Classroom reminders"),
    templates=["classroom_reminder"],
    audience=_factory,
    order=33,
)
register_kind(
    "visit_logged",
    label=_("Consulting visits recorded"),
    templates=["visit_logged"],
    audience=_factory,
    order=34,
)
register_kind(
    "enrolment_completed",
    label=_("Modules completed"),
    templates=["enrolment_completed"],
    audience=lambda scope: bool(scope.factory_ids or scope.funding_ids),
    order=35,
)
register_kind(
    "certificate_issued",
    label=_("Certificates issued"),
    templates=["certificate_issued"],
    audience=_factory,
    order=36,
)
# An invitation goes to an address that has no account yet: email only, always.
register_kind(
    "factory_invitation",
    label=_("Invitations to manage a factory"),
    # At enrolment (factory_invitation), or by a brand or provider from the factory's page.
    templates=["factory_invitation", "factory_manager_invitation"],
    email_optional=False,
    why_always=_("An invitation goes to an address, not to an account: it is always emailed."),
    notice=False,
    listed=False,
)
# Co-funding (README, "Co-funding"): to the lead funder (a proposal, a share ended) and to
# the proposer (the answer).
register_kind(
    "cofunding",
    label=_("Co-funding proposals and answers"),
    templates=["cofunding_proposed", "cofunding_answered", "cofunding_ended"],
    audience=_funder,
    order=37,
)
