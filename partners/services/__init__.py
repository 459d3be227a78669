"""Writes about partners. One module per subject:

- ``partnerships``: drafts, the lifecycle, the ILO's decisions and their emails;
- ``people``: members and their roles, invitations, the ILO's onboarding of organisations.
"""

from partners.services.partnerships import (
    TRANSITIONS,
    PartnershipError,
    allowed_moves,
    missing_for_submission,
    save_draft,
    transition,
)
from partners.services.people import (
    ILO_ADMIN_GROUP,
    INVITATION_DAYS,
    PartnerError,
    accept_invitation,
    add_member,
    change_role,
    create_partner,
    find_invitation,
    invitation_refusal,
    invite,
    remove_member,
    resend_invitation,
    revoke_invitation,
    roles_for,
)

__all__ = [
    "ILO_ADMIN_GROUP",
    "INVITATION_DAYS",
    "TRANSITIONS",
    "PartnerError",
    "PartnershipError",
    "accept_invitation",
    "add_member",
    "allowed_moves",
    "change_role",
    "create_partner",
    "find_invitation",
    "invitation_refusal",
    "invite",
    "missing_for_submission",
    "remove_member",
    "resend_invitation",
    "revoke_invitation",
    "roles_for",
    "save_draft",
    "transition",
]
