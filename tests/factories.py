"""factory_boy factories for rows that have no service of their own."""

from __future__ import annotations

import datetime

import factory
from allauth.account.models import EmailAddress

from partners.models import Partner, Partnership
from score_portal.models import User
from suppliers.models import Factory

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        # allauth requires a verified address before sign-in (mandatory verification).
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Brand {n}")
    kind = Partner.Kind.BRAND
    country = "GB"


class PartnershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partnership
        skip_postgeneration_save = True

    partner = factory.SubFactory(PartnerFactory)
    kind = Partnership.Kind.PPP
    title = factory.Sequence(lambda n: f"Partnership {n}")
    status = Partnership.Status.APPROVED
    countries = ["CN", "TR"]
    factory_quota = 10
    budget = 50_000
    currency = "EUR"
    start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=30))
    end_date = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=365))

    @factory.post_generation
    def modules(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.modules.set(extracted)


class FactoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Factory

    name = factory.Sequence(lambda n: f"工厂 {n} 有限公司")
    name_latin = factory.Sequence(lambda n: f"Factory {n} Co., Ltd.")
    address = factory.Sequence(lambda n: f"{n} Industrial Road")
    city = "Dongguan"
    country = "CN"
    sector = Factory.Sector.GARMENTS
    workers_total = 250
    workers_women = 140


def held_classroom(cohort, *, days_ago: int = 40) -> None:
    """Move ``cohort``'s two classroom days into the past (``days_ago`` and the day after), so
    a cycle can be delivered, completed and certified in time order up to today."""
    from training.models import Cohort

    start = datetime.date.today() - datetime.timedelta(days=days_ago)
    Cohort.objects.filter(pk=cohort.pk).update(
        classroom_start=start, classroom_end=start + datetime.timedelta(days=1)
    )
    cohort.refresh_from_db()


def mark_completed(enrolment):
    """A completed enrolment made directly (the completion service has its own tests), its
    classroom held in the past so that its certificate's dates are consistent."""
    from django.utils import timezone

    from training.models import Enrolment

    if enrolment.cohort_id is not None:
        held_classroom(enrolment.cohort)
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=Enrolment.Status.COMPLETED, completed_at=timezone.now()
    )
    enrolment.refresh_from_db()
    return enrolment
