"""Benchmark: certificates rendered through the real task, and the outbox delivered by workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_bench_certificates \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/certificates.py

It drops and recreates the database named in DATABASE_URL (refused unless the name contains
"bench"), migrates it, and then:

1. Renders 1,000 certificates (half with Latin-script factory names, Turkish and Vietnamese
   included, half Chinese) in a child process, each through the render task itself
   (``training.tasks.render_certificate.apply``: claim, render with WeasyPrint, store the PDF,
   mark issued). Prints ms per certificate for each script after a warm-up, and the child's
   resident memory every 100 certificates and at its peak.
2. Starts a Celery worker on Redis with ``--concurrency 2`` (two processes) sending to a local
   SMTP sink (a tiny asyncio server in this process), holds its consumer back, queues 10,000
   enrolment emails through the outbox in one transaction (their tasks are published on
   commit), lets the worker consume, and prints the time until the sink has received every
   one and every row is SENT. Rendering, storing and publishing are timed separately.

BENCH_CERTIFICATES and BENCH_EMAILS change the sizes (BENCH_EMAILS=0 skips the emails, and
then needs no REDIS_URL);
BENCH_PROFILE=<file> profiles the warm renders (cProfile) and prints the top of the profile.

Not a test: it prints figures. Targets: <= 70 ms Latin / <= 110 ms CJK per certificate warm,
worker RSS <= 300 MB and flat, 10,000 emails in <= 30 s.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CERTIFICATES = int(os.environ.get("BENCH_CERTIFICATES", "1000"))
EMAILS = int(os.environ.get("BENCH_EMAILS", "10000"))
WARM_UP = 20  # per script, not counted

LATIN_NAMES = [
    "Özdemir Tekstil Sanayi A.Ş.",
    "Çağlar Konfeksiyon Ltd. Şti.",
    "Công ty May mặc Việt Tiến",
    "Nhà Bè Garment Corporation",
    "Dhaka Knit Composite Ltd.",
    "Bursa Örme ve Boya Fabrikası",
    "Hòa Bình Footwear Company",
    "Anatolian Denim Works",
]
CJK_NAMES = [
    "东莞华美制衣有限公司",
    "宁波申洲针织有限公司",
    "广州市白云区永兴鞋业有限公司",
    "苏州工业园区纺织印染厂",
    "佛山南海区家具制造有限公司",
    "深圳市龙岗区电子塑料五金厂",
]


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(1)


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# --- Setup --------------------------------------------------------------------------------


def prepare_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not url.startswith(("postgres://", "postgresql://")) or "bench" not in name:
        fail("DATABASE_URL must be a PostgreSQL database whose name contains 'bench'.")
    if EMAILS and not os.environ.get("REDIS_URL"):
        fail("REDIS_URL is required: the email part runs a Celery worker on Redis.")
    import psycopg

    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


def setup_django(media_root: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "score_portal.settings")
    os.environ["MEDIA_ROOT"] = media_root
    os.environ.setdefault("CELERY_QUEUE", f"score-bench-{os.getpid()}")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DEBUG"] = "false"  # as in production: no query log in the worker
    import django

    django.setup()


def build_world() -> dict[str, list[int]]:
    """1,000 completed enrolments, each with a pending certificate (code already made)."""
    import datetime

    from django.utils import timezone

    from partners.models import Membership, Partner
    from partners.services import add_member
    from suppliers.models import Factory
    from tests.factories import PartnerFactory, PartnershipFactory, UserFactory
    from training.models import Certificate, Cohort, ConsultingVisit, Enrolment, Module
    from training.services import certify_trainer

    module = Module.objects.get(code="M1")
    brand = PartnerFactory(name="Bench Brand", kind=Partner.Kind.BRAND)
    provider = PartnerFactory(name="Bench Provider", kind=Partner.Kind.SERVICE_PROVIDER)
    trainer = UserFactory(email="trainer@bench.example.org", full_name="Ayşe Yılmaz")
    add_member(partner=provider, user=trainer, role=Membership.Role.TRAINER)
    certify_trainer(trainer=trainer, module=module, certified_on=datetime.date(2024, 1, 1))
    partnership = PartnershipFactory(partner=brand, title="Bench programme", modules=[module])
    today = datetime.date.today()
    cohort = Cohort.objects.create(
        module=module,
        provider=provider,
        trainer=trainer,
        venue_city="Bursa",
        venue_country="TR",
        language="tr",
        classroom_start=today - datetime.timedelta(days=120),
        classroom_end=today - datetime.timedelta(days=119),
        capacity=5,
    )
    rng = random.Random(6)
    factories = []
    scripts = []
    for n in range(CERTIFICATES):
        cjk = n % 2 == 1
        name = f"{rng.choice(CJK_NAMES if cjk else LATIN_NAMES)} {n}"
        language = "zh-hans" if cjk else rng.choice(["tr", "vi", "en"])
        factories.append(
            Factory(name=name, country="CN" if cjk else "TR", city="Bench", language=language)
        )
        scripts.append("cjk" if cjk else "latin")
    Factory.objects.bulk_create(factories)
    now = timezone.now()
    enrolments = Enrolment.objects.bulk_create(
        Enrolment(
            factory=factory,
            module=module,
            partnership=partnership,
            cohort=cohort,
            status=Enrolment.Status.COMPLETED,
            completed_at=now,
        )
        for factory in factories
    )
    ConsultingVisit.objects.bulk_create(
        ConsultingVisit(enrolment=e, kind=kind, number=number, visited_on=today, trainer=trainer)
        for e in enrolments
        for kind, number in [("baseline", 1), ("follow_up", 1), ("follow_up", 2), ("follow_up", 3)]
    )
    certificates = Certificate.objects.bulk_create(Certificate(enrolment=e) for e in enrolments)
    ids: dict[str, list[int]] = {"latin": [], "cjk": []}
    for certificate, script in zip(certificates, scripts, strict=True):
        ids[script].append(certificate.pk)
    return ids


# --- 1. Rendering, in a child process -------------------------------------------------------


def render_child(ids_file: str) -> None:
    """Runs in its own process, like a worker child: render through the task, one by one."""
    setup_django(os.environ["MEDIA_ROOT"])
    from training.models import Certificate
    from training.tasks import render_certificate

    ids = json.loads(Path(ids_file).read_text())
    timings: dict[str, list[float]] = {"latin": [], "cjk": []}
    memory: list[tuple[int, float]] = []
    order = [
        (s, pk)
        for pair in zip(ids["latin"], ids["cjk"], strict=False)
        for s, pk in zip(("latin", "cjk"), pair, strict=True)
    ]
    # BENCH_PROFILE=<file>: cProfile the warm renders into <file> (pstats), printed at the end.
    profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    for done, (script, pk) in enumerate(order, start=1):
        if profiler is not None and done == 2 * WARM_UP + 1:
            profiler.enable()
        started = time.perf_counter()
        assert render_certificate.apply(args=[pk]).get() is True
        timings[script].append((time.perf_counter() - started) * 1000)
        if done % 100 == 0:
            memory.append((done, rss_mb()[0]))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    issued = Certificate.objects.filter(status="issued").count()
    print(
        json.dumps({"timings": timings, "memory": memory, "peak_mb": rss_mb()[1], "issued": issued})
    )


def bench_rendering(ids: dict[str, list[int]], media_root: str) -> dict[str, object]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(ids, handle)
    result = subprocess.run(
        [sys.executable, __file__, "--render-child", handle.name],
        capture_output=True,
        text=True,
        env={**os.environ, "MEDIA_ROOT": media_root},
        cwd=ROOT,
    )
    if result.returncode:
        fail(f"render child failed:\n{result.stderr[-4000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["issued"] != CERTIFICATES:
        fail(f"only {data['issued']} of {CERTIFICATES} certificates issued")
    figures: dict[str, object] = {"memory": data["memory"], "peak_mb": data["peak_mb"]}
    for script in ("latin", "cjk"):
        warm = data["timings"][script][WARM_UP:]
        figures[script] = {
            "first_ms": data["timings"][script][0],
            "mean_ms": statistics.fmean(warm),
            "median_ms": statistics.median(warm),
            "p95_ms": sorted(warm)[int(len(warm) * 0.95)],
            "count": len(warm),
        }
    return figures


# --- 2. Emails, through two worker processes ------------------------------------------------


class SmtpSink:
    """Accepts every message and counts it; just enough SMTP for smtplib."""

    def __init__(self) -> None:
        self.received = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0, backlog=512)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 bench-sink ESMTP\r\n")
        in_data = False
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.received += 1
                    writer.write(b"250 2.0.0 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-bench-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


def start_worker(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    from django.conf import settings

    env = {
        **os.environ,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "score_portal",
            "worker",
            "--concurrency=2",
            "--pool=prefork",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            # Emails have a queue of their own (settings.TASK_QUEUES, routed by task module).
            "-Q",
            settings.TASK_QUEUES["emails"],
            *os.environ.get("BENCH_WORKER_ARGS", "").split(),
        ],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def bench_emails(workdir: Path) -> dict[str, float]:
    from django.conf import settings
    from django.db import transaction

    from score_portal.celery import app
    from score_portal.emails import queue_email
    from score_portal.models import OutboundEmail, User
    from training.models import Enrolment

    sink = SmtpSink()
    worker = start_worker(sink.port, workdir / "worker.log")
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1):
            if worker.poll() is not None or time.monotonic() > deadline:
                fail(f"the worker did not start; see {workdir / 'worker.log'}")
        enrolment = Enrolment.objects.select_related("factory", "module").first()
        recipient = User(email="x@bench.example.org", full_name="Bench Manager")
        OutboundEmail.objects.all().delete()
        queue = settings.TASK_QUEUES["emails"]
        # Hold the worker back while the requests queue their emails, so that what is timed
        # is the delivery by the two worker processes alone (this machine's cores are shared).
        app.control.cancel_consumer(queue, reply=True)
        started = time.perf_counter()
        with transaction.atomic():
            for n in range(EMAILS):
                recipient.email = f"manager{n}@bench.example.org"
                queue_email(
                    to=recipient.email,
                    template="enrolment_completed",
                    context={"enrolment": enrolment, "recipient": recipient},
                    language=("en", "tr", "zh-hans", "vi")[n % 4],
                )
            rendered = time.perf_counter()
        published = time.perf_counter()  # on_commit published every task to Redis
        app.control.add_consumer(queue, reply=True)
        consuming = time.perf_counter()
        while sink.received < EMAILS:
            if time.perf_counter() - consuming > 600:
                fail(f"only {sink.received} of {EMAILS} emails after 10 minutes")
            time.sleep(0.02)
        delivered = time.perf_counter()
        while OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists():
            time.sleep(0.02)
        all_sent = time.perf_counter()
        time.sleep(1)  # any duplicate would show up in the sink now
        return {
            "render_and_store_s": rendered - started,
            "publish_s": published - rendered,
            "delivered_s": delivered - consuming,
            "all_rows_sent_s": all_sent - consuming,
            "sink_received": sink.received,
        }
    finally:
        worker.terminate()
        worker.wait(30)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--render-child":
        render_child(sys.argv[2])
        return
    prepare_database()
    with tempfile.TemporaryDirectory(prefix="score-bench-") as tmp:
        workdir = Path(tmp)
        media_root = str(workdir / "media")
        setup_django(media_root)
        from django.core.management import call_command

        began = time.perf_counter()
        call_command("migrate", verbosity=0)
        ids = build_world()
        print(
            f"setup: migrated and loaded {CERTIFICATES:,} certificates in "
            f"{time.perf_counter() - began:.0f} s"
        )

        figures = bench_rendering(ids, media_root)
        for script, label in (("latin", "Latin"), ("cjk", "CJK")):
            f = figures[script]
            assert isinstance(f, dict)
            print(
                f"render {label}: {f['mean_ms']:.1f} ms/certificate warm (median "
                f"{f['median_ms']:.1f}, p95 {f['p95_ms']:.1f}, n={f['count']}; first "
                f"{f['first_ms']:.0f} ms)"
            )
        memory = figures["memory"]
        assert isinstance(memory, list)
        print(
            "worker RSS (MB) every 100 certificates: " + ", ".join(f"{mb:.0f}" for _, mb in memory)
        )
        print(f"worker peak RSS: {figures['peak_mb']:.0f} MB")
        if os.environ.get("BENCH_PROFILE"):
            stats = pstats.Stats(os.environ["BENCH_PROFILE"])
            stats.sort_stats("cumulative").print_stats(40)

        if not EMAILS:
            return
        result = bench_emails(workdir)
        print(
            f"emails: {EMAILS:,} queued (rendered and stored in "
            f"{result['render_and_store_s']:.1f} s, published in {result['publish_s']:.1f} s); "
            f"delivered by 2 worker processes in {result['delivered_s']:.1f} s from the moment "
            f"they start consuming, all rows SENT at {result['all_rows_sent_s']:.1f} s; "
            f"sink received {result['sink_received']:,}"
        )


if __name__ == "__main__":
    main()
