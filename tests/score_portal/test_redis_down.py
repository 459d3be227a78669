"""Redis taken away for real, stopped and frozen (SIGSTOP), under signed-in people: pages still
answer, actions commit, sign-in and sign-out work, limits still count, and what was queued
meanwhile goes out once when Redis is back.

Each test starts a redis-server of its own on a free port (never the machine's shared one)
and points the portal's cache and Celery's broker at it. The live-worker test runs where
the others do (.ci/run: CELERY_LIVE_WORKER=1, PostgreSQL); the rest wherever redis-server is
installed.
"""

from __future__ import annotations

import datetime
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes

import pytest
import redis
from allauth.core.internal.ratelimit import parse_rates
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from score_portal import jobs
from score_portal.cache import RedisCache, breaker
from score_portal.celery import app as celery_app
from score_portal.models import OutboundEmail
from suppliers.models import BrandSupplier, SupplierImport
from suppliers.services import link_supplier
from tests.conftest import _reset_broker_pools, client_for, wait_for, worker_running
from tests.factories import PASSWORD, FactoryFactory
from tests.suppliers.conftest import fixture_file
from training.models import Enrolment

REDIS_SERVER = shutil.which("redis-server")
# The bound for any request while Redis is away. Not a speed target (tests never
# assert those): without the timeouts and the circuit breaker a frozen Redis held each
# request 43-50 s, so this fails on a hang and passes with room on a busy machine (a sign-in,
# which hashes a password on purpose slowly, took 4.9 s with eight test runs sharing 2 cores).
REQUEST_BOUND = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A redis-server process of this test's own: started, stopped, frozen and thawed."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()  # a stopped process would not act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.process is not None and self.frozen:
            self.process.send_signal(signal.SIGCONT)
            self.frozen = False

    def take_away(self, how: str) -> None:
        self.stop() if how == "stopped" else self.freeze()

    def bring_back(self) -> None:
        """Redis is back (a stopped one empty, a frozen one with what it held), and the
        processes' retry period (REDIS_RETRY_SECONDS) has passed."""
        if self.frozen:
            self.thaw()
        elif self.process is None:
            self.start()
        breaker.retry_now()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: these tests take a Redis of their own away")
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def portal_on_own_redis(own_redis, settings) -> Iterator[OwnRedis]:
    """The portal's cache and Celery's broker on ``own_redis``, as production configures
    them (tasks really published, not run in-process)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "score_portal.cache.RedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {
                "socket_connect_timeout": settings.REDIS_TIMEOUT,
                "socket_timeout": settings.REDIS_TIMEOUT,
                "fallback_seconds": settings.REDIS_RETRY_SECONDS,
            },
        }
    }
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = own_redis.url
    celery_app.conf.task_always_eager = False
    _reset_broker_pools()
    breaker.reset()
    try:
        yield own_redis
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
        _reset_broker_pools()
        breaker.reset()


WAYS = ["stopped", "frozen"]


def _timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


# --- The cache backend ------------------------------------------------------------------


@pytest.mark.parametrize("how", WAYS)
def test_the_cache_answers_from_the_process_while_redis_is_away(portal_on_own_redis, how):
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    cache.set("kept", "in redis", 60)
    assert cache.get("kept") == "in redis"

    portal_on_own_redis.take_away(how)
    started = time.monotonic()
    # Nothing raises: reads miss, writes and counters go to the process's own cache.
    assert cache.get("kept") is None
    assert cache.get("kept", "default") == "default"
    cache.set("local", 1, 60)
    assert cache.get("local") == 1
    assert cache.add("counter", 0, 60) is True
    assert cache.add("counter", 0, 60) is False
    assert cache.incr("counter") == 1
    with pytest.raises(ValueError):  # as Django documents, from either cache
        cache.incr("missing")
    assert cache.get_many(["local", "kept"]) == {"local": 1}
    assert cache.delete("local") is True
    assert cache.get_or_set("computed", 7, 60) == 7
    assert not backend.redis_available
    # One socket timeout, then the breaker: a dozen calls at a frozen Redis would otherwise
    # cost a dozen timeouts (6 s at 0.5 s each).
    assert time.monotonic() - started < REQUEST_BOUND

    portal_on_own_redis.bring_back()
    # Redis again: what it held (a frozen one still holds it), and the stand-in forgotten.
    assert cache.get("kept") == (None if how == "stopped" else "in redis")
    assert backend.redis_available
    assert backend.fallback.get("counter") is None
    assert cache.get("counter") is None
    cache.set("again", 2, 60)
    assert redis.Redis(port=portal_on_own_redis.port).exists(backend.make_key("again")) == 1


# --- Pages, sign-in, actions ------------------------------------------------------------


def _pages(world) -> dict[str, list[str]]:
    enrolment = reverse("training:enrolment_detail", args=[world.enrolment.pk])
    return {
        "brand_staff": [
            reverse("home"),
            reverse("training:enrolment_list"),
            enrolment,
            reverse("training:matrix"),
            reverse("training:enrol"),
            reverse("suppliers:factory_list"),
            reverse("suppliers:import_list"),
            reverse("suppliers:import_detail", args=[world.supplier_import.pk]),
            reverse("training:cohort_list"),
            reverse("training:certificate_list"),
            reverse("partners:partnership_list"),
            reverse("partners:partnership_detail", args=[world.partnership.pk]),
        ],
        "factory_manager": [
            reverse("home"),
            reverse("training:enrolment_list"),
            enrolment,
            reverse("suppliers:factory_detail", args=[world.factory.pk]),
            reverse("training:certificate_list"),
        ],
        "trainer": [
            reverse("home"),
            reverse("training:cohort_list"),
            reverse("training:cohort_detail", args=[world.cohort.pk]),
            enrolment,
            reverse("training:certificate_list"),
        ],
        "ilo_admin": [
            reverse("home"),
            reverse("training:enrolment_list"),
            enrolment,
            reverse("suppliers:factory_list"),
            reverse("suppliers:import_list"),
            reverse("training:cohort_list"),
            reverse("training:certificate_list"),
            reverse("partners:partnership_list"),
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("how", WAYS)
def test_signed_in_people_keep_working_while_redis_is_away(
    portal_on_own_redis, request, world, factory_manager, ilo_admin, how
):
    pages = _pages(world)
    portal_on_own_redis.take_away(how)
    for persona, urls in pages.items():
        user = request.getfixturevalue(persona)
        client = Client()
        signed_in, elapsed = _timed(
            client.post, reverse("account_login"), {"login": user.email, "password": PASSWORD}
        )
        assert signed_in.status_code == 302, persona
        assert signed_in.url == reverse("home") and elapsed < REQUEST_BOUND, persona
        for url in urls:
            response, elapsed = _timed(client.get, url)
            assert response.status_code == 200, (persona, url, response.status_code)
            assert elapsed < REQUEST_BOUND, (persona, url, elapsed)
        signed_out, elapsed = _timed(client.post, reverse("account_logout"))
        assert signed_out.status_code == 302 and elapsed < REQUEST_BOUND, persona
        # Signed out for good: the session is gone from the database it lives in.
        assert "_auth_user_id" not in client.session, persona
        assert client.get(reverse("training:enrolment_list")).status_code == 302, persona


@pytest.mark.django_db
@pytest.mark.parametrize("how", WAYS)
def test_actions_commit_while_redis_is_away_and_wait_for_the_sweep(
    portal_on_own_redis,
    world,
    brand,
    brand_staff,
    module_1,
    how,
    django_capture_on_commit_callbacks,
):
    newcomer = FactoryFactory(name="Newcomer Garments", contact_email="owner@newcomer.example")
    link_supplier(brand=brand, factory=newcomer, supplier_code="A-900")
    client = client_for(brand_staff)
    portal_on_own_redis.take_away(how)
    started = time.monotonic()
    # The publish runs when the transaction commits: inside the timed span.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("training:enrol"),
            {
                "factories": [newcomer.pk],
                "module": module_1.pk,
                "partnership": world.partnership.pk,
            },
        )
    assert time.monotonic() - started < REQUEST_BOUND
    assert response.status_code == 200 and response.context["enrolled"] == 1
    assert Enrolment.objects.filter(factory=newcomer).exists()
    queued = OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED)
    assert queued.filter(to="owner@newcomer.example").exists()
    # The public certificate check, whose rate limit lives in the cache, answers too.
    checked, elapsed = _timed(client_for(None).get, reverse("verify_certificate", args=["NOPE"]))
    assert checked.status_code == 404 and elapsed < REQUEST_BOUND
    # Nothing reached Redis: the sweep queues it once Redis is back (next test: a worker).
    portal_on_own_redis.bring_back()
    assert redis.Redis(port=portal_on_own_redis.port).llen(celery_app.conf.task_default_queue) in (
        0,
        # A frozen Redis runs the one publish that timed out once it is thawed.
        *((1,) if how == "frozen" else ()),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("how", WAYS)
def test_failed_sign_ins_are_still_limited_while_redis_is_away(
    portal_on_own_redis, brand_staff, how
):
    """Fail safe: the limits count in each process while Redis is away (never unlimited)."""
    allowed = min(
        rate.amount for rate in parse_rates(django_settings.ACCOUNT_RATE_LIMITS["login_failed"])
    )
    portal_on_own_redis.take_away(how)
    client = Client()
    for _ in range(allowed):
        response, elapsed = _timed(
            client.post, reverse("account_login"), {"login": brand_staff.email, "password": "guess"}
        )
        assert response.status_code == 200 and elapsed < REQUEST_BOUND
        assert "Too many failed login attempts" not in response.text
    response = client.post(
        reverse("account_login"), {"login": brand_staff.email, "password": "guess"}
    )
    assert "Too many failed login attempts" in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("how", WAYS)
def test_the_api_answers_and_still_limits_each_key_while_redis_is_away(
    portal_on_own_redis, world, brand, settings, how
):
    """The per-key limits (``score_portal.ratelimit``) count in the process while Redis is
    away: the API answers within the bound, and a key over its limit still gets 429."""
    from api.models import OrganisationAPIKey
    from api.services import create_key
    from tests.api.conftest import admin_of, key_client

    _key, secret = create_key(
        organisation=brand,
        name="ERP",
        access=OrganisationAPIKey.Access.ACTING,
        actor=admin_of(brand, "admin@brand-a.example.org"),
    )
    settings.API_RATE_READ = 2
    portal_on_own_redis.take_away(how)
    api = key_client(secret)
    for _ in range(2):
        response, elapsed = _timed(api.get, "/api/v1/enrolments/")
        assert response.status_code == 200 and elapsed < REQUEST_BOUND
        assert response.json()["count"] == 1  # brand A's own enrolment
    refused = api.get("/api/v1/enrolments/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.parametrize("how", WAYS)
def test_a_short_list_is_imported_while_redis_is_away(
    portal_on_own_redis, brand, brand_staff, settings, tmp_path, how
):
    """The import's progress is reported through the cache; Redis away, it stands still and
    the import completes (it used to fail the whole import)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    client = client_for(brand_staff)
    portal_on_own_redis.take_away(how)
    uploaded, elapsed = _timed(
        client.post,
        reverse("suppliers:import_new"),
        {
            "brand": brand.pk,
            "mode": "additions",
            "file": fixture_file("with_errors.csv"),
            "encoding": "",
        },
    )
    assert uploaded.status_code == 302 and elapsed < REQUEST_BOUND
    supplier_import = SupplierImport.objects.get()
    assert supplier_import.rows_valid <= settings.SUPPLIER_IMPORT_INLINE_ROWS
    confirmed, elapsed = _timed(
        client.post, reverse("suppliers:import_confirm", args=[supplier_import.pk])
    )
    assert confirmed.status_code == 302 and elapsed < REQUEST_BOUND
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.DONE, supplier_import.error
    assert BrandSupplier.objects.filter(brand=brand).count() == supplier_import.rows_valid
    assert client.get(supplier_import.get_absolute_url()).status_code == 200


# --- Delivered once when Redis is back (a live worker) ---------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", WAYS)
def test_emails_queued_while_redis_was_away_are_sent_once_when_it_is_back(
    portal_on_own_redis, world, brand, brand_staff, module_1, tmp_path, how
):
    newcomers = []
    for number in range(3):
        factory = FactoryFactory(
            name=f"Newcomer {number}", contact_email=f"owner{number}@newcomer.example"
        )
        link_supplier(brand=brand, factory=factory, supplier_code=f"A-90{number}")
        newcomers.append(factory)
    OutboundEmail.objects.all().delete()
    client = client_for(brand_staff)

    portal_on_own_redis.take_away(how)
    for factory in newcomers:  # one request each: each commits and tries to publish
        response, elapsed = _timed(
            client.post,
            reverse("training:enrol"),
            {"factories": [factory.pk], "module": module_1.pk, "partnership": world.partnership.pk},
        )
        assert response.status_code == 200 and response.context["enrolled"] == 1
        assert elapsed < REQUEST_BOUND
    reset, elapsed = _timed(
        client_for(None).post, reverse("account_reset_password"), {"email": brand_staff.email}
    )
    assert reset.status_code == 302 and elapsed < REQUEST_BOUND
    rows = dict(OutboundEmail.objects.values_list("pk", "message_id"))
    assert len(rows) >= 4 and Enrolment.objects.filter(factory__in=newcomers).count() == 3

    portal_on_own_redis.bring_back()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    with worker_running(
        tmp_path / "worker.log", REDIS_URL=portal_on_own_redis.url, EMAIL_URL=f"filemail://{outbox}"
    ):
        # Beat's sweep, a minute or two later: everything the outage left waiting.
        later = timezone.now() + datetime.timedelta(minutes=2)
        assert jobs.sweep(OutboundEmail, now=later) == len(rows)

        def all_sent() -> bool:
            return not OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()

        assert wait_for(all_sent, timeout=60), list(OutboundEmail.objects.values("to", "status"))
        # A second sweep (and a thawed Redis's late publish) finds nothing left to send.
        assert jobs.sweep(OutboundEmail, now=later) == 0
        wait_for(lambda: False, timeout=2)

    # The file backend appends the messages of one second to one file, each ended by a line
    # of 79 dashes.
    messages = [
        message
        for path in outbox.iterdir()
        for message in path.read_bytes().split(b"-" * 79 + b"\n")
        if message.strip()
    ]
    sent = Counter(message_from_bytes(message)["Message-ID"] for message in messages)
    assert sent == Counter(rows.values()), "each email once, with its row's Message-ID"
