"""Personas and a small two-tenant world, built through the services production uses.

Personas: an ILO admin, a brand staff member, another brand's staff member, a factory
manager, a trainer (and their provider's coordinator), and an anonymous visitor.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from partners.models import Membership, Partner, Partnership
from partners.services import add_member
from score_portal.celery import app as celery_app
from score_portal.models import User
from suppliers.models import BrandSupplier, Factory, SupplierImport
from suppliers.services import add_factory_manager, link_supplier
from tests.factories import FactoryFactory, PartnerFactory, PartnershipFactory, UserFactory
from training.models import Cohort, Enrolment, Module
from training.services import certify_trainer, create_cohort, enrol_factory


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in-process unless a test asks for the live worker."""
    if "live_worker" in request.fixturenames:
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Each test gets its own cache namespace, so rate limits never carry over (Redis too)."""
    import uuid

    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. A request leaves its language active in the
    thread (LocaleMiddleware activates, nothing deactivates), so a Turkish user's request in
    one test once turned the messages of a later test, on the same xdist worker, Turkish."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _reset_broker_pools() -> None:
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Point Celery at a dead Redis (tasks really published, not run in-process); calling
    the fixture's value brings it back (tasks in-process again)."""
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = DEAD_BROKER
    celery_app.conf.task_always_eager = False
    _reset_broker_pools()

    def restore():
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
        _reset_broker_pools()

    yield restore
    restore()


@pytest.fixture
def ilo(db) -> Partner:
    return PartnerFactory(name="International Labour Organization", kind=Partner.Kind.ILO)


@pytest.fixture
def brand(db) -> Partner:
    return PartnerFactory(name="Brand A", kind=Partner.Kind.BRAND)


@pytest.fixture
def other_brand(db) -> Partner:
    return PartnerFactory(name="Brand B", kind=Partner.Kind.BRAND)


@pytest.fixture
def provider(db) -> Partner:
    return PartnerFactory(name="Provider P", kind=Partner.Kind.SERVICE_PROVIDER, country="DE")


@pytest.fixture
def catalogue(db) -> None:
    """The SCORE catalogue. A migration loads it, but transactional tests (browser, worker)
    flush every table, so load it again where a test needs it; it adds only what is missing."""
    from training.catalogue import load_catalogue
    from training.models import KPIDefinition

    load_catalogue(Module, KPIDefinition)


@pytest.fixture
def module_1(catalogue) -> Module:
    return Module.objects.get(code="M1")


def _member(partner: Partner, role: str, email: str) -> User:
    user = UserFactory(email=email)
    add_member(partner=partner, user=user, role=role)
    return user


@pytest.fixture
def ilo_admin(ilo) -> User:
    return _member(ilo, Membership.Role.ADMIN, "admin@ilo.example.org")


@pytest.fixture
def brand_staff(brand) -> User:
    return _member(brand, Membership.Role.STAFF, "staff@brand-a.example.org")


@pytest.fixture
def brand_viewer(brand) -> User:
    return _member(brand, Membership.Role.VIEWER, "viewer@brand-a.example.org")


@pytest.fixture
def other_brand_staff(other_brand) -> User:
    return _member(other_brand, Membership.Role.STAFF, "staff@brand-b.example.org")


@pytest.fixture
def trainer(provider, module_1) -> User:
    user = _member(provider, Membership.Role.TRAINER, "trainer@provider.example.org")
    certify_trainer(trainer=user, module=module_1, certified_on=datetime.date(2024, 1, 15))
    return user


@pytest.fixture
def provider_staff(provider) -> User:
    return _member(provider, Membership.Role.STAFF, "coordinator@provider.example.org")


@dataclass
class World:
    """Two tenants side by side: everything of brand A, and the same again for brand B."""

    factory: Factory
    other_factory: Factory
    link: BrandSupplier
    partnership: Partnership
    other_partnership: Partnership
    cohort: Cohort
    enrolment: Enrolment
    other_enrolment: Enrolment
    supplier_import: SupplierImport
    other_import: SupplierImport


@pytest.fixture
def world(brand, other_brand, provider, trainer, module_1, brand_staff) -> World:
    factory = FactoryFactory(name="东莞华美制衣有限公司", name_latin="Dongguan Huamei Garment")
    other_factory = FactoryFactory(name="Özdemir Tekstil A.Ş.", country="TR", city="Bursa")
    link = link_supplier(brand=brand, factory=factory, supplier_code="A-001")
    link_supplier(brand=other_brand, factory=other_factory, supplier_code="B-001")
    partnership = PartnershipFactory(partner=brand, title="Brand A pilot", modules=[module_1])
    other_partnership = PartnershipFactory(
        partner=other_brand, title="Brand B programme", modules=[module_1]
    )
    cohort = create_cohort(
        module=module_1,
        provider=provider,
        trainer=trainer,
        venue_city="Dongguan",
        venue_country="CN",
        language="zh-hans",
        classroom_start=datetime.date.today() + datetime.timedelta(days=20),
        classroom_end=datetime.date.today() + datetime.timedelta(days=21),
    )
    enrolment = enrol_factory(
        factory=factory,
        module=module_1,
        partnership=partnership,
        enrolled_by=brand_staff,
        cohort=cohort,
    )
    other_enrolment = enrol_factory(
        factory=other_factory, module=module_1, partnership=other_partnership, enrolled_by=None
    )
    supplier_import = SupplierImport.objects.create(
        brand=brand, original_filename="brand-a-suppliers.csv", file="x.csv", rows_total=1
    )
    other_import = SupplierImport.objects.create(
        brand=other_brand, original_filename="brand-b-suppliers.csv", file="y.csv"
    )
    return World(
        factory=factory,
        other_factory=other_factory,
        link=link,
        partnership=partnership,
        other_partnership=other_partnership,
        cohort=cohort,
        enrolment=enrolment,
        other_enrolment=other_enrolment,
        supplier_import=supplier_import,
        other_import=other_import,
    )


@pytest.fixture
def factory_manager(world) -> User:
    user = UserFactory(email="manager@huamei.example.org")
    add_factory_manager(factory=world.factory, user=user)
    return user


@pytest.fixture
def other_factory_manager(world) -> User:
    user = UserFactory(email="manager@ozdemir.example.org")
    add_factory_manager(factory=world.other_factory, user=user)
    return user


def hold_classroom(enrolment: Enrolment, trainer: User, present: Any = None) -> None:
    """The enrolment's classroom held, its participants (or those in ``present``) ticked on
    each of its days in the register. A classroom already in the past keeps its dates
    (``tests.factories.held_classroom`` puts one there); one not begun yet is moved to
    yesterday and today."""
    from training.models import Participant
    from training.services.attendance import record_cohort_attendance

    today = datetime.date.today()
    cohort = Cohort.objects.get(pk=enrolment.cohort_id)
    if cohort.classroom_start > today - datetime.timedelta(days=1):
        Cohort.objects.filter(pk=cohort.pk).update(
            classroom_start=today - datetime.timedelta(days=1), classroom_end=today
        )
        cohort.refresh_from_db()
    last = min(cohort.classroom_end, today)
    days = [
        cohort.classroom_start + datetime.timedelta(days=n)
        for n in range((last - cohort.classroom_start).days + 1)
    ]
    people = present if present is not None else Participant.objects.filter(enrolment=enrolment)
    record_cohort_attendance(
        cohort=cohort, actor=trainer, ticks={(p.pk, day) for p in people for day in days}
    )


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- A live Celery worker on Redis -------------------------------------------------------


def start_worker(
    log: Any, *, queue: str | None = None, pool: str = "solo", **env: str
) -> subprocess.Popen[bytes]:
    """A real ``celery worker`` process (solo pool, or ``pool="prefork"`` with one child, as
    in production) on the PostgreSQL test database and Redis, writing to ``log``; ``queue``
    to consume only that queue (else every queue the portal routes to), ``env`` to override
    settings.

    Skips the calling test unless CELERY_LIVE_WORKER=1 with REDIS_URL and a PostgreSQL
    DATABASE_URL (what .ci/run sets).
    """
    from django.conf import settings

    db = settings.DATABASES["default"]
    if os.environ.get("CELERY_LIVE_WORKER") != "1" or not settings.REDIS_URL:
        pytest.skip("needs CELERY_LIVE_WORKER=1 and REDIS_URL (run by .ci/run)")
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the worker shares the PostgreSQL test database")
    command = [sys.executable, "-m", "celery", "-A", "score_portal", "worker", f"--pool={pool}",
               "--concurrency=1", "--loglevel=INFO", "--without-gossip",
               "--without-mingle"]  # fmt: skip
    command += ["-Q", queue or ",".join(settings.TASK_QUEUES.values())]
    return subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parents[1],
        env={
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            ),
            "DATABASE_CONN_MAX_AGE": "0",  # let the test's flush truncate tables between tests
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@contextmanager
def worker_running(log_path: Path, **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    """``start_worker`` writing to ``log_path``; on the way out the worker is stopped (killed
    if it will not stop) and its log closed, whatever the test did to it meanwhile."""
    with log_path.open("w") as log:
        worker = start_worker(log, **options)
        try:
            yield worker
        finally:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


def send_to_queue(task: Any, queue: str, *args: Any) -> None:
    """Really publish ``task`` to ``queue`` (tests otherwise run tasks in-process)."""
    celery_app.conf.task_always_eager = False
    try:
        task.apply_async(args=args, queue=queue)
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture(scope="session")
def live_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` process consuming from Redis and writing to the test database.

    Runs only when CELERY_LIVE_WORKER=1 with REDIS_URL and a PostgreSQL DATABASE_URL (what
    .ci/run sets); elsewhere the tests that need it are skipped. Its emails go to files in
    ``worker.outbox_dir`` so a test can read what was really sent.
    """
    outbox_dir = tmp_path_factory.mktemp("worker-outbox")
    log = (outbox_dir.parent / "worker.log").open("w")
    try:
        # Webhooks may reach a test's receiver on 127.0.0.1 (tests/webhooks).
        worker = start_worker(
            log, EMAIL_URL=f"filemail://{outbox_dir}", WEBHOOKS_ALLOW_PRIVATE_TARGETS="1"
        )
    except BaseException:
        log.close()
        raise
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"the Celery worker did not start; see {log.name}")
    worker.outbox_dir = outbox_dir  # type: ignore[attr-defined]
    yield worker
    worker.terminate()
    worker.wait(timeout=30)
    log.close()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll until ``predicate()`` is truthy (work done by another process); return its value."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
