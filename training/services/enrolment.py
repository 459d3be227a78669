"""Writes about training: certifications, cohorts and enrolments."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Membership, Partner, Partnership
from suppliers.models import Factory
from training.models import Cohort, Enrolment, Module, TrainerCertification

if TYPE_CHECKING:
    from score_portal.models import User


class TrainingError(Exception):
    """A training rule was broken; the message is for the person who tried."""


def certify_trainer(
    *, trainer: User, module: Module, certified_on: datetime.date
) -> TrainerCertification:
    """Record the ILO's certification of ``trainer`` for ``module``."""
    certification, _created = TrainerCertification.objects.update_or_create(
        trainer=trainer, module=module, defaults={"certified_on": certified_on}
    )
    return certification


@transaction.atomic
def create_cohort(
    *,
    module: Module,
    provider: Partner,
    trainer: User,
    venue_city: str,
    venue_country: str,
    language: str,
    classroom_start: datetime.date,
    classroom_end: datetime.date,
    capacity: int = 5,
) -> Cohort:
    """Open a classroom cohort, run by a trainer of the provider certified for the module."""
    if not Membership.objects.filter(
        user=trainer, partner=provider, role=Membership.Role.TRAINER
    ).exists():
        raise TrainingError(
            _("%(trainer)s is not a trainer of %(provider)s.")
            % {"trainer": trainer, "provider": provider}
        )
    if not TrainerCertification.objects.filter(trainer=trainer, module=module).exists():
        raise TrainingError(
            _("%(trainer)s is not certified to deliver %(module)s.")
            % {"trainer": trainer, "module": module}
        )
    if classroom_end < classroom_start:
        raise TrainingError(_("The classroom cannot end before it starts."))
    return Cohort.objects.create(
        module=module,
        provider=provider,
        trainer=trainer,
        venue_city=venue_city,
        venue_country=venue_country,
        language=language,
        classroom_start=classroom_start,
        classroom_end=classroom_end,
        capacity=capacity,
    )


def enrol_factory(
    *,
    factory: Factory,
    module: Module,
    partnership: Partnership,
    enrolled_by: User | None,
    cohort: Cohort | None = None,
    on: datetime.date | None = None,
) -> Enrolment:
    """Enrol ``factory`` into ``module``, funded by ``partnership``.

    The partnership row is locked while its quota is checked, so two enrolments cannot take
    its last place. The database refuses a second active enrolment in the same module, even
    under concurrent requests; that refusal comes back as a readable TrainingError.
    """
    from partners.services import funding_refusal

    if cohort is not None and cohort.module_id != module.pk:
        raise TrainingError(_("That cohort teaches a different module."))
    try:
        with transaction.atomic():
            locked = Partnership.objects.select_for_update().get(pk=partnership.pk)
            refusal = funding_refusal(
                partnership=locked,
                factory=factory,
                module=module,
                on=on or timezone.localdate(),
            )
            if refusal:
                raise TrainingError(refusal)
            return Enrolment.objects.create(
                factory=factory,
                module=module,
                partnership=locked,
                cohort=cohort,
                enrolled_by=enrolled_by,
            )
    except IntegrityError:
        raise TrainingError(
            _("%(factory)s is already enrolled in %(module)s.")
            % {"factory": factory, "module": module}
        ) from None
