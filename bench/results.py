"""Benchmark: the results dashboards and a partnership's report at programme scale, over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_bench_results \
        .venv/bin/python bench/results.py

Drops and recreates the database named in DATABASE_URL (its name must contain "bench"),
migrates it and loads with COPY a programme-sized world (at BENCH_SCALE=1): 50,000
factories in 30 countries, 20 funding partners (16 brands, 4 initiatives) each with an
approved partnership and a supplier list, 3 service providers with 300 trainers, 200,000
enrolments over three years with realistic statuses, cohorts of five, 800,000 participants,
visits, 2,000,000 KPI readings and the factories' KPI consents. Then, as beat would, it
counts the unfiltered figures once (``reporting.rollups.refresh_unfiltered``, timed), and
serves the portal with gunicorn (bench/pages.py's helpers and settings: DEBUG off, the cache
in Redis, the bench URLconf with the bare 50-row list, the yardstick), drives each page
with wrk beside the bare list in the same run and prints, per page,

    <page> throughput / bare list: X
    <page> p95 ms: Y

then the verdict against the target (every page >= 0.5 of the bare list). The pages: the
ILO's programme dashboard, the first brand's portfolio dashboard, and the preview of that
brand's partnership report for this year (``reports.gather``). Before serving, a profile
in-process: each figure function counted afresh on the whole world (what the cache saves).

Options (environment): BENCH_SCALE (1; 0.02 for a quick check), BENCH_SECONDS (15),
BENCH_WARMUP (3), BENCH_WORKERS (3), BENCH_REDIS_URL (redis://127.0.0.1:6379/14; empty: each
gunicorn worker keeps its own figures, counted on its first request), BENCH_PROFILE (1;
0 skips the in-process profile). Not a test: it prints figures. Needs wrk.
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import pages  # noqa: E402  (the path above first)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/score_bench_results"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N_FACTORIES = max(200, round(50_000 * SCALE))
N_ENROLMENTS = 4 * N_FACTORIES  # 200,000 at scale 1
N_PARTICIPANTS = 16 * N_FACTORIES  # 800,000
N_READINGS = 40 * N_FACTORIES  # 2,000,000
N_TRAINERS = max(10, round(300 * SCALE))
PROFILE = os.environ.get("BENCH_PROFILE", "1") != "0"
TARGET_RATIO = 0.5

COUNTRIES = [
    "CN", "IN", "ID", "VN", "GH", "ZA", "CO", "PE", "BO", "ET", "TN", "TR", "BA", "MU", "BD",
    "KH", "MM", "PK", "LK", "TH", "MY", "PH", "MX", "GT", "HN", "MA", "EG", "KE", "BR", "JO",
]  # fmt: skip
STATUSES = {
    "pending": 8, "confirmed": 10, "in_progress": 22, "completed": 50, "declined": 5,
    "withdrawn": 5,
}  # fmt: skip
REACHED = ("confirmed", "in_progress", "completed")
NAMED = ("in_progress", "completed")  # participants named, visits and readings recorded


def load(rng: random.Random) -> dict[str, Any]:
    """The world: personas through services, the volume through COPY."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from partners.models import Membership, Partner, Partnership
    from partners.services import add_member
    from score_portal.models import User
    from suppliers.models import BrandSupplier, Factory
    from training.models import (
        Cohort,
        ConsultingVisit,
        Enrolment,
        KPIConsent,
        KPIReading,
        Module,
        Participant,
    )

    now = timezone.now()
    today = now.date()
    copy = pages.copy_rows
    counts: dict[str, int] = {}

    def person(email: str, name: str) -> User:
        user = User.objects.create_user(email=email, password=None, full_name=name)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    with transaction.atomic():
        ilo = Partner.objects.get_or_create(
            kind=Partner.Kind.ILO, defaults={"name": "International Labour Organization"}
        )[0]
        admin = person("admin@ilo.example.org", "ILO Admin")
        add_member(partner=ilo, user=admin, role=Membership.Role.ADMIN)
        funders = [
            Partner.objects.create(
                name=f"{'Initiative' if n >= 16 else 'Brand'} {n + 1:02d}",
                kind=Partner.Kind.INITIATIVE if n >= 16 else Partner.Kind.BRAND,
                country=rng.choice(["GB", "DE", "ES", "SE", "US", "NL", "JP"]),
            )
            for n in range(20)
        ]
        staff = person("staff@brand-01.example.org", "Brand Staff")
        add_member(partner=funders[0], user=staff, role=Membership.Role.STAFF)
        providers = [
            Partner.objects.create(name=f"Provider {n}", kind=Partner.Kind.SERVICE_PROVIDER)
            for n in ("P", "Q", "R")
        ]
        modules = list(Module.objects.filter(is_active=True).prefetch_related("kpis"))
        m1 = next(m for m in modules if m.code == "M1")
        kpis_of = {m.pk: [k.pk for k in m.kpis.all()] for m in modules}
        partnerships = []
        for n, funder in enumerate(funders):
            partnership = Partnership.objects.create(
                partner=funder,
                kind=Partnership.Kind.PPP if n < 16 else Partnership.Kind.INITIATIVE_MEMBERSHIP,
                title=f"{funder.name} supplier programme",
                status=Partnership.Status.APPROVED,
                countries=COUNTRIES,
                factory_quota=N_FACTORIES,
                budget=Decimal(rng.randint(2, 20) * 1_000_000),
                currency=rng.choice(["USD", "EUR"]),
                start_date=today - datetime.timedelta(days=3 * 365 + 30),
                end_date=today + datetime.timedelta(days=365),
                created_by=staff,
            )
            partnership.modules.set(modules)
            partnerships.append(partnership)

        # Trainers (users of the providers), in bulk: their memberships are not measured.
        password = make_password(None)
        first_user = User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        trainers = User.objects.bulk_create(
            User(
                pk=first_user + 1 + n,
                email=f"trainer{n}@provider.example.org",
                full_name=f"Trainer {n}",
                password=password,
            )
            for n in range(N_TRAINERS)
        )
        Membership.objects.bulk_create(
            Membership(
                partner=providers[n % len(providers)], user=user, role=Membership.Role.TRAINER
            )
            for n, user in enumerate(trainers)
        )
        trainer_ids = [t.pk for t in trainers]

        # Factories, each on one to three funders' lists.
        country_of: list[str] = [""]
        funders_of: list[list[int]] = [[]]
        factory_rows, link_rows = [], []
        for n in range(1, N_FACTORIES + 1):
            name, latin, city, _country, language = pages.factory_fields(rng, n)
            country = COUNTRIES[min(int(rng.expovariate(0.12)), len(COUNTRIES) - 1)]
            total = rng.randint(50, 3000)
            women = rng.randint(0, total)
            factory_rows.append(
                (n, name, latin, f"{n} Industrial Road", city, country, rng.choice(pages.SECTORS),
                 "", total if rng.random() < 0.9 else None, women, "", "", "", language, "",
                 f"contact{n}@factory.example.org", "", now, now)
            )  # fmt: skip
            country_of.append(country)
            mine = rng.sample(range(len(funders)), k=rng.choice([1, 1, 1, 2, 2, 3]))
            funders_of.append(mine)
            for f in mine:
                link_rows.append((len(link_rows) + 1, funders[f].pk, n, f"S-{f:02d}-{n:06d}", now))
        copy(
            Factory,
            ["id", "name", "name_latin", "address", "city", "country", "sector", "product_type",
             "workers_total", "workers_women", "os_id", "registration_number", "parent_company",
             "language", "contact_name", "contact_email", "contact_phone", "created_at",
             "updated_at"],
            factory_rows,
        )  # fmt: skip
        copy(
            BrandSupplier,
            ["id", "brand_id", "factory_id", "supplier_code", "created_at"],
            link_rows,
        )
        counts["factories"], counts["supplier links"] = len(factory_rows), len(link_rows)
        del factory_rows, link_rows

        # Enrolments: four modules per factory on average (Module 1 first), three years.
        with_kpis = [m for m in modules if kpis_of[m.pk] and m.pk != m1.pk]
        others = [m for m in modules if m.pk != m1.pk]
        plan: list[tuple[int, int, int, str, datetime.datetime, datetime.datetime | None]] = []
        factory_id = 0
        taken_of: list[set[int]] = [set() for _ in range(N_FACTORIES + 1)]
        while len(plan) < N_ENROLMENTS:
            factory_id = factory_id % N_FACTORIES + 1
            taken = taken_of[factory_id]
            pool = with_kpis if rng.random() < 0.8 else others
            module = m1 if m1.pk not in taken else rng.choice(pool)
            if module.pk in taken:
                continue
            taken.add(module.pk)
            funder = funders_of[factory_id][rng.randrange(len(funders_of[factory_id]))]
            status = pages.pick(rng, STATUSES)
            age = rng.randint(1, 3 * 365)
            created = now - datetime.timedelta(days=age, minutes=rng.randint(0, 1439))
            completed = (
                created + datetime.timedelta(days=rng.randint(min(60, age), age))
                if status == "completed"
                else None
            )
            plan.append(
                (factory_id, module.pk, partnerships[funder].pk, status, created, completed)
            )

        by_module = {m.pk: m for m in modules}
        cohort_rows, cohort_of = [], {}
        waiting: dict[tuple[int, str], list[int]] = {}
        for pk, (fid, module_id, _p, status, _c, _d) in enumerate(plan, start=1):
            if by_module[module_id].classroom_days and status in REACHED:
                waiting.setdefault((module_id, country_of[fid]), []).append(pk)
        for (module_id, country), ids in waiting.items():
            for start in range(0, len(ids), 5):
                cohort_id = len(cohort_rows) + 1
                first_day = today - datetime.timedelta(days=rng.randint(1, 3 * 365))
                days = by_module[module_id].classroom_days
                trainer = rng.choice(trainer_ids)
                cohort_rows.append(
                    (cohort_id, module_id, providers[trainer % len(providers)].pk, trainer,
                     "City", country, "en", first_day,
                     first_day + datetime.timedelta(days=days - 1), 5, now)
                )  # fmt: skip
                for enrolment_id in ids[start : start + 5]:
                    cohort_of[enrolment_id] = cohort_id
        copy(
            Cohort,
            ["id", "module_id", "provider_id", "trainer_id", "venue_city", "venue_country",
             "language", "classroom_start", "classroom_end", "capacity", "created_at"],
            cohort_rows,
        )  # fmt: skip
        counts["cohorts"] = len(cohort_rows)

        def enrolment_rows() -> Iterator[tuple[Any, ...]]:
            for pk, (fid, module_id, partnership_id, status, created, completed) in enumerate(
                plan, start=1
            ):
                ended = status in ("declined", "withdrawn")
                changed = created + datetime.timedelta(days=1) if ended else completed or created
                yield (
                    pk, fid, module_id, partnership_id, cohort_of.get(pk), status, staff.pk,
                    "Changed sourcing plans." if status == "withdrawn" else "", None, created,
                    changed, completed, "",
                )  # fmt: skip

        copy(
            Enrolment,
            ["id", "factory_id", "module_id", "partnership_id", "cohort_id", "status",
             "enrolled_by_id", "withdrawal_reason", "classroom_reminder_sent_at", "created_at",
             "status_changed_at", "completed_at", "placement_reason"],
            enrolment_rows(),
        )  # fmt: skip
        counts["enrolments"] = len(plan)

        # Participants of the reached enrolments (two managers, two or three workers).
        reached = [pk for pk, p in enumerate(plan, start=1) if p[3] in REACHED]
        extra = max(0.0, N_PARTICIPANTS / max(len(reached), 1) - 4)

        def participant_rows() -> Iterator[tuple[Any, ...]]:
            n = 0
            for pk in reached:
                for i in range(4 + (rng.random() < extra) + int(extra)):
                    n += 1
                    yield (
                        n, pk, f"Participant {pk}-{i}",
                        "Line supervisor" if i < 2 else "Operator",
                        "manager" if i < 2 else "worker",
                        "woman" if rng.random() < (0.25 if i < 2 else 0.45) else "man",
                        True,
                    )  # fmt: skip
            counts["participants"] = n

        copy(
            Participant,
            ["id", "enrolment_id", "name", "position", "role", "gender", "attended_classroom"],
            participant_rows(),
        )

        # Visits and KPI readings of the cycles under way or done: a baseline per KPI and
        # follow-ups (monthly as the factories record them) after the classroom.
        named = [pk for pk, p in enumerate(plan, start=1) if p[3] in NAMED]
        pairs = sum(len(kpis_of[plan[pk - 1][1]]) for pk in named)
        # Four in ten cycles under way have no follow-up yet (below): the others take more,
        # so that the world holds N_READINGS in all.
        kept_pairs = sum(
            len(kpis_of[plan[pk - 1][1]]) * (1.0 if plan[pk - 1][3] == "completed" else 0.6)
            for pk in named
        )
        follow_ups = max(1.0, (N_READINGS - pairs) / max(kept_pairs, 1))
        visit_rows, reading_rows = [], 0

        def reading_rows_of() -> Iterator[tuple[Any, ...]]:
            nonlocal reading_rows
            for pk in named:
                _f, module_id, _p, status, created, _done = plan[pk - 1]
                day = created.date()
                trainer = rng.choice(trainer_ids)
                module = by_module[module_id]
                done = (
                    module.followup_visits
                    if status == "completed"
                    else rng.randint(0, max(module.followup_visits - 1, 0))
                )
                visit_rows.append((len(visit_rows) + 1, pk, "baseline", 1, day, trainer, "", now))
                for number in range(1, done + 1):
                    visit_rows.append(
                        (len(visit_rows) + 1, pk, "follow_up", number,
                         min(today, day + datetime.timedelta(days=30 * number)), trainer,
                         "Checked the plan.", now)
                    )  # fmt: skip
                for kpi_id in kpis_of[module_id]:
                    base = Decimal(rng.randint(1000, 80000)) / 1000
                    reading_rows += 1
                    yield (reading_rows, pk, kpi_id, "baseline", base, day, trainer, now)
                    n = int(follow_ups) + (rng.random() < follow_ups - int(follow_ups))
                    if status != "completed" and rng.random() < 0.4:
                        n = 0
                    for k in range(1, n + 1):
                        value = min(
                            Decimal(100),
                            base * Decimal(rng.choice(["0.8", "0.9", "1.0", "1.1", "1.2"])),
                        ).quantize(Decimal("0.001"))
                        reading_rows += 1
                        yield (
                            reading_rows, pk, kpi_id, "follow_up", value,
                            min(today, day + datetime.timedelta(days=15 * k)), trainer, now,
                        )  # fmt: skip

        copy(
            KPIReading,
            ["id", "enrolment_id", "kpi_id", "kind", "value", "measured_on", "recorded_by_id",
             "created_at"],
            reading_rows_of(),
        )  # fmt: skip
        copy(
            ConsultingVisit,
            ["id", "enrolment_id", "kind", "number", "visited_on", "trainer_id", "notes",
             "created_at"],
            visit_rows,
        )  # fmt: skip
        counts["visits"], counts["KPI readings"] = len(visit_rows), reading_rows

        # Six factories in ten share their readings with each funder they supply.
        consent_rows = [
            (len_ + 1, fid, funders[f].pk, None, now)
            for len_, (fid, f) in enumerate(
                (fid, f)
                for fid in range(1, N_FACTORIES + 1)
                for f in funders_of[fid]
                if (fid * 7 + f) % 10 < 6
            )
        ]
        copy(
            KPIConsent, ["id", "factory_id", "partner_id", "given_by_id", "given_at"], consent_rows
        )
        counts["KPI consents"] = len(consent_rows)
        pages.reset_sequences(
            [User, Factory, BrandSupplier, Cohort, Enrolment, Participant, ConsultingVisit,
             KPIReading, KPIConsent]
        )  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "admin": admin,
        "staff": staff,
        "brand": funders[0],
        "partnership": partnerships[0],
        "counts": counts,
    }


def profile(world: dict[str, Any]) -> None:
    """Each figure function counted afresh on the whole world, and the report's data."""
    from django.db import connection

    from reporting import figures, reports, rollups
    from training.models import Enrolment

    everything = Enrolment.objects.all()
    brand_id = world["brand"].pk
    funded = Enrolment.objects.filter(partnership__partner_id=brand_id)
    start, end = rollups.default_period()
    pieces: list[tuple[str, Any]] = [
        ("programme funnel", lambda: figures.funnel(everything)),
        ("programme completions_per_month", lambda: figures.completions_per_month(everything)),
        ("programme participants", lambda: figures.participants(everything)),
        ("programme factories_reached", lambda: figures.factories_reached(everything)),
        ("programme workforce", lambda: figures.workforce(everything)),
        ("programme active_trainers", lambda: figures.active_trainers(everything)),
        ("programme costs", lambda: figures.costs(everything)),
        ("programme kpi_changes", lambda: figures.kpi_changes(everything)),
        ("portfolio common figures", lambda: rollups.common_figures(funded)),
        (
            "portfolio supplier_coverage",
            lambda: figures.supplier_coverage(brand_id=brand_id, enrolments=funded),
        ),
        ("portfolio brand_kpi_results", lambda: figures.brand_kpi_results(brand_id=brand_id)),
        ("report gather (this year)", lambda: reports.gather(world["partnership"], start, end)),
    ]
    print("\ncounted afresh in-process (what the kept figures save; one run each, ms):")
    for label, fn in pieces:
        began = time.perf_counter()
        fn()
        print(f"  {label}: {(time.perf_counter() - began) * 1000:.0f} ms")
    connection.close()


def main() -> None:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        pages.fail(f"DATABASE_URL must be PostgreSQL, e.g. {DEFAULT_URL}")
    if shutil.which("wrk") is None:
        pages.fail("wrk is missing: make bench-deps (or apt-get install wrk)")
    began = time.monotonic()
    pages.recreate_database(url)
    pages.setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    world = load(random.Random(19))
    counts = ", ".join(f"{v:,} {k}" for k, v in world["counts"].items())
    print(
        f"database {urlsplit(url).path.lstrip('/')} at scale {SCALE:g}: loaded in "
        f"{time.monotonic() - began:.0f} s: {counts}"
    )
    if PROFILE:
        profile(world)

    from django.core.cache import cache

    from reporting import rollups

    cache.clear()  # the bench's own Redis database: nothing kept from an earlier world
    refreshed = time.perf_counter()
    made = rollups.refresh_unfiltered()
    print(
        f"\nbeat's refresh (reporting.tasks.refresh_results): {made} snapshots in "
        f"{time.perf_counter() - refreshed:.1f} s"
    )
    admin_cookie = pages.session_cookie(world["admin"])
    staff_cookie = pages.session_cookie(world["staff"])
    report_path = f"/results/partnerships/{world['partnership'].pk}/report/preview/"
    if PROFILE:
        print("\nin-process with kept figures (median of 10 after a first request):")
        for label, path, cookie in (
            ("programme dashboard", "/results/programme/", admin_cookie),
            ("brand portfolio", "/results/portfolio/", staff_cookie),
            ("partnership report", report_path, staff_cookie),
            ("bare list", "/bench/bare-list/", ""),
        ):
            p = pages.profile(path, cookie, runs=10)
            print(
                f"  {label}: {p['queries']} queries, {p['total_ms']:.1f} ms, "
                f"of which SQL {p['sql_ms']:.1f} ms"
            )
    connection.close()  # gunicorn's workers open their own

    measured = [
        # (label, path, cookie, marker that only the right page has)
        ("programme dashboard", "/results/programme/", admin_cookie, 'id="kpis"'),
        ("brand portfolio", "/results/portfolio/", staff_cookie, world["brand"].name),
        ("partnership report", report_path, staff_cookie, 'class="table report-factories"'),
    ]
    bare = ("bare list", "/bench/bare-list/", "", '<table class="bare-list">')
    workdir = Path(tempfile.mkdtemp(prefix="score-bench-results-"))
    script = workdir / "check.lua"
    script.write_text(pages.WRK_SCRIPT)
    port = pages.free_port()
    server = pages.start_gunicorn(url, port, workdir / "gunicorn.log")
    results: dict[str, dict[str, float]] = {}
    bare_runs = []
    try:
        # Each page is first checked by hand (a wrong cookie would measure the sign-in
        # redirect); the report preview's first request counts its figures, as a reader's.
        for label, path, cookie, marker in [*measured, bare]:
            began = time.perf_counter()
            status, body = pages.get(port, path, cookie)
            if status != 200 or marker not in body:
                pages.fail(f"{label}: {path} answered {status} without {marker!r}; see {workdir}")
            if label != "bare list" and "figures-as-of" not in body:
                pages.fail(f"{label}: the page does not say when its figures were counted")
            print(f"{label}: first request {(time.perf_counter() - began) * 1000:.0f} ms")
        for _label, path, cookie, marker in [*measured, bare]:
            pages.wrk(port, path, cookie, marker, pages.WARMUP, script)
        # The bare list first and last, averaged: a change in the machine's load biases less.
        for label, path, cookie, marker in [bare, *measured, bare]:
            result = pages.wrk(port, path, cookie, marker, pages.SECONDS, script)
            if result["bad"] or result["errors"] or not result["good"]:
                pages.fail(f"{label}: {result['bad']} wrong responses, {result['errors']} errors")
            if label == "bare list":
                bare_runs.append(result)
            else:
                results[label] = result
    finally:
        server.terminate()
        server.wait(timeout=30)

    bare_rps = (bare_runs[0]["rps"] + bare_runs[1]["rps"]) / 2
    print(
        f"\ngunicorn {pages.WORKERS} sync workers, wrk 1 thread x {pages.CONNECTIONS} "
        f"connections, {pages.SECONDS} s per URL after {pages.WARMUP} s warm-up, "
        f"{os.cpu_count()} cores; cache: {'Redis' if pages.REDIS_URL else 'local memory'}; "
        f"bare list {bare_runs[0]['rps']:.0f} and {bare_runs[1]['rps']:.0f} req/s "
        f"(p95 {bare_runs[0]['p95']:.1f}, {bare_runs[1]['p95']:.1f} ms)"
    )
    missed = []
    for label, r in results.items():
        ratio = r["rps"] / bare_rps
        print(f"{label} throughput / bare list: {ratio:.2f}")
        print(f"{label} p95 ms: {r['p95']:.1f}")
        if ratio < TARGET_RATIO:
            missed.append(label)
    if missed:
        print(f"verdict NOT met: {', '.join(missed)} below {TARGET_RATIO:.0%} of the bare list")
    else:
        print(f"verdict met: every page at least {TARGET_RATIO:.0%} of the bare list's throughput")
    print(f"total {time.monotonic() - began:.0f} s; gunicorn log in {workdir}")


if __name__ == "__main__":
    main()
