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
