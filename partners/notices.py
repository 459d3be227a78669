"""Partners' kinds of notice (score_portal.notices): the emails of the partnership lifecycle."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from score_portal.notices import register_kind

register_kind(
    "partnership_submitted",
    label=_("Partnership applications to review"),
    templates=["partnership_submitted"],
    audience=lambda scope: scope.is_ilo_decider,
    order=10,
)
register_kind(
    "partnership_decided",
    label=_("Decisions on your organisation's partnerships"),
    templates=["partnership_decided"],
    audience=lambda scope: bool(scope.partner_ids),
    order=11,
)
# An invitation to join an organisation goes to an address, perhaps without an account yet.
register_kind(
    "organisation_invitation",
    label=_("Invitations to join an organisation"),
    templates=["organisation_invitation"],
    email_optional=False,
    why_always=_("An invitation goes to an address, not to an account: it is always emailed."),
    notice=False,
    listed=False,
)
# A change to one's own access is news one must not be able to turn off.
register_kind(
    "membership_changed",
    label=_("Changes to your role in an organisation"),
    templates=["membership_changed"],
    email_optional=False,
    why_always=_("A change to what you can reach is always emailed."),
    audience=lambda scope: bool(scope.partner_ids),
    order=12,
)
