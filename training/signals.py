"""What training does when something happens elsewhere (connected in ``apps.py``)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_logged_in

from training.services.enrolment import accept_invitation


def _accept_factory_invitations(request: Any, email_address: Any, **kwargs: Any) -> None:
    """A factory contact who verifies the invited address becomes the factory's manager.

    Only a verified address counts: whoever signs up with someone else's email gets nothing.
    """
    accept_invitation(user=email_address.user, email=email_address.email)


def _accept_on_sign_in(request: Any, user: Any, **kwargs: Any) -> None:
    """Someone invited who already has an account (the address verified) becomes the
    factory's manager on their next sign-in."""
    for email in EmailAddress.objects.filter(user=user, verified=True).values_list(
        "email", flat=True
    ):
        accept_invitation(user=user, email=email)


def connect() -> None:
    email_confirmed.connect(_accept_factory_invitations, dispatch_uid="factory-invitations")
    user_logged_in.connect(_accept_on_sign_in, dispatch_uid="factory-invitations-sign-in")
