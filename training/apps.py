from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Training")

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        email_confirmed.connect(_accept_factory_invitations, dispatch_uid="factory-invitations")


def _accept_factory_invitations(request, email_address, **kwargs):  # type: ignore[no-untyped-def]
    """A factory contact who verifies the invited address becomes the factory's manager.

    Only a verified address counts: whoever signs up with someone else's email gets nothing.
    """
    from training.services.enrolment import accept_invitation

    accept_invitation(user=email_address.user, email=email_address.email)
