"""Benchmark: the API's supplier list and enrolment list beside the bare 50-row page, over
HTTP, and enrolments created through the API.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_api_bench \
        .venv/bin/python bench/api.py

Drops and recreates the database named in DATABASE_URL (its name must contain "bench"),
migrates it and loads the world of ``bench/pages.py`` (10,000 factories on one brand's
supplier list, 20,000 enrolments). The brand's admin creates an acting API key (through the
service the keys page uses). gunicorn serves the portal as bench/pages.py does (bench
URLconf: the portal's + the bare 50-row list); each URL is driven at 8 connections (wrk when
installed, else a Python keep-alive client: its figures are then the client's as much as the
server's, so compare ratios only), every response checked to be a 200 with the page's own
content, and it prints

    /api/v1/suppliers/?page_size=100 throughput / bare list: X
    /api/v1/enrolments/ throughput / bare list: X

(target >= 0.5 each). Then it creates 1,000 enrolments through the API (POST
/api/v1/enrolments/, one request each, as a client would, keep-alive, 4 connections) of
factories new on the brand's list, and prints the rate.

Options (environment): BENCH_FACTORIES (10000: the world's size; enrolments twice that),
BENCH_API_ENROLMENTS (1000), BENCH_SECONDS (15), BENCH_WARMUP (3), BENCH_WORKERS (3),
BENCH_REDIS_URL (as bench/pages.py). A quick check that it runs:
BENCH_FACTORIES=200 BENCH_API_ENROLMENTS=20 BENCH_SECONDS=1 BENCH_WARMUP=1.
Not a test: it prints figures.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import pages  # noqa: E402  (the path above first)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/score_api_bench"
FACTORIES = int(os.environ.get("BENCH_FACTORIES", "10000"))
ENROLMENTS = int(os.environ.get("BENCH_API_ENROLMENTS", "1000"))
SECONDS = pages.SECONDS
WARMUP = pages.WARMUP
CONNECTIONS = pages.CONNECTIONS
WRITERS = 4
TARGET_RATIO = 0.5
# The bench measures the server, not the per-key rate limits.
UNTHROTTLED = {"API_RATE_READ_PER_MINUTE": "100000000", "API_RATE_WRITE_PER_MINUTE": "100000000"}


def create_key(world: dict[str, Any]) -> str:
    """The brand's admin creates an acting key, as on the organisation's API keys page."""
    from allauth.account.models import EmailAddress

    from api.services import create_key as create
    from partners.models import Membership
    from partners.services import add_member
    from score_portal.models import User

    email = "admin@brand-a.example.org"
    admin = User.objects.create_user(email=email, password=None, full_name="Brand Admin")
    EmailAddress.objects.create(user=admin, email=email, verified=True, primary=True)
    add_member(partner=world["brand"], user=admin, role=Membership.Role.ADMIN)
    _key, secret = create(organisation=world["brand"], name="bench", access="acting", actor=admin)
    return secret


def new_suppliers(world: dict[str, Any], count: int) -> tuple[list[int], int, int]:
    """``count`` factories new on the brand's list (none enrolled yet); returns their ids,
    Module 1's id and the partnership's id."""
    from django.utils import timezone

    from partners.models import Partnership
    from suppliers.models import BrandSupplier, Factory
    from training.models import Module

    now = timezone.now()
    factories = Factory.objects.bulk_create(
        Factory(
            name=f"API Bench Garment {n}",
            address=f"{n} Bench Road",
            city="Dongguan",
            country="CN",
            created_at=now,
        )
        for n in range(count)
    )
    BrandSupplier.objects.bulk_create(
        BrandSupplier(brand=world["brand"], factory=f, supplier_code=f"API-{n:05d}")
        for n, f in enumerate(factories)
    )
    partnership = Partnership.objects.get(partner=world["brand"])
    return [f.pk for f in factories], Module.objects.get(code="M1").pk, partnership.pk


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None = None,
) -> tuple[int, str]:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read().decode()


def drive(port: int, path: str, headers: dict[str, str], marker: str, seconds: float) -> float:
    """Requests per second at CONNECTIONS keep-alive connections (wrk if installed)."""
    if shutil.which("wrk"):
        return wrk(port, path, headers, marker, seconds)
    counts = [0] * CONNECTIONS
    bad: list[str] = []
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            status, body = request(conn, "GET", path, headers)
            if status != 200 or marker not in body:
                bad.append(f"{status} {body[:200]}")
                return
            counts[index] += 1
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if bad:
        pages.fail(f"{path}: wrong response: {bad[0]}")
    return sum(counts) / (time.monotonic() - began)


def wrk(port: int, path: str, headers: dict[str, str], marker: str, seconds: float) -> float:
    import subprocess

    workdir = Path(tempfile.mkdtemp(prefix="score-bench-api-"))
    script = workdir / "check.lua"
    script.write_text(pages.WRK_SCRIPT)
    command = ["wrk", "--threads", "1", "--connections", str(CONNECTIONS),
               "--duration", f"{max(int(seconds), 1)}s", "--timeout", "10s",
               "--script", str(script)]  # fmt: skip
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command += [f"http://127.0.0.1:{port}{path}", "--", marker]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        pages.fail(f"wrk printed no result for {path}:\n{out}")
    requests, duration, good, bad, *_rest, errors = map(int, line.split()[1:])
    if bad or errors or not good:
        pages.fail(f"{path}: {bad} wrong responses, {errors} errors")
    return requests / (duration / 1e6)


def enrol_through_the_api(
    port: int, secret: str, factory_ids: list[int], module_id: int, partnership_id: int
) -> float:
    """POST one enrolment per factory (WRITERS connections); returns enrolments a second."""
    headers = {"Authorization": f"Api-Key {secret}", "Content-Type": "application/json"}
    chunks = [factory_ids[i::WRITERS] for i in range(WRITERS)]
    failed: list[str] = []

    def writer(ids: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for factory_id in ids:
            body = json.dumps(
                {"factory": factory_id, "module": module_id, "partnership": partnership_id}
            )
            status, answer = request(
                conn,
                "POST",
                "/api/v1/enrolments/",
                {**headers, "Idempotency-Key": f"bench-{factory_id}"},
                body,
            )
            if status != 201:
                failed.append(f"{status} {answer[:300]}")
                return
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=writer, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if failed:
        pages.fail(f"enrolment through the API refused: {failed[0]}")
    return len(factory_ids) / elapsed


def main() -> None:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        pages.fail(f"DATABASE_URL must be PostgreSQL, e.g. {DEFAULT_URL}")
    pages.N_FACTORIES = FACTORIES
    pages.N_ENROLMENTS = 2 * FACTORIES
    began = time.monotonic()
    pages.recreate_database(url)
    os.environ.update(UNTHROTTLED)
    pages.setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    world = pages.load(random.Random(5))
    secret = create_key(world)
    factory_ids, module_id, partnership_id = new_suppliers(world, ENROLMENTS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()  # gunicorn's workers open their own
    counts = ", ".join(f"{v:,} {k}" for k, v in world["counts"].items())
    print(
        f"database {urlsplit(url).path.lstrip('/')}: loaded in {time.monotonic() - began:.0f} s:"
        f" {counts}"
    )

    key = {"Authorization": f"Api-Key {secret}"}
    endpoints = [
        # (label, path, headers, marker, expected rows)
        ("bare list", "/bench/bare-list/", {}, '<table class="bare-list">', None),
        ("/api/v1/suppliers/?page_size=100", "/api/v1/suppliers/?page_size=100", key,
         '"results":[', 100),
        ("/api/v1/enrolments/", "/api/v1/enrolments/", key, '"results":[', 50),
    ]  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="score-bench-api-"))
    port = pages.free_port()
    server = pages.start_gunicorn(url, port, workdir / "gunicorn.log")
    rates: dict[str, float] = {}
    try:
        for label, path, headers, marker, rows in endpoints:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status, body = request(conn, "GET", path, headers)
            conn.close()
            if status != 200 or marker not in body:
                pages.fail(f"{label}: answered {status}: {body[:300]}; see {workdir}")
            if rows is not None and len(json.loads(body)["results"]) != min(
                rows, FACTORIES if "suppliers" in path else 2 * FACTORIES
            ):
                pages.fail(f"{label}: expected {rows} results")
        for _label, path, headers, marker, _rows in endpoints:
            drive(port, path, headers, marker, WARMUP)
        bare_runs = []
        for label, path, headers, marker, _rows in [*endpoints, endpoints[0]]:
            drive(port, path, headers, marker, WARMUP)
            rate = drive(port, path, headers, marker, SECONDS)
            if label == "bare list":
                bare_runs.append(rate)
            rates[label] = rate
        rates["bare list"] = sum(bare_runs) / len(bare_runs)
        enrolled = enrol_through_the_api(port, secret, factory_ids, module_id, partnership_id)
    finally:
        server.terminate()
        server.wait(timeout=30)

    client = "wrk" if shutil.which("wrk") else "a Python keep-alive client (no wrk)"
    print(
        f"gunicorn {pages.WORKERS} sync workers, {client} x {CONNECTIONS} connections, "
        f"{SECONDS} s per URL after {WARMUP} s warm-up, {os.cpu_count()} cores, loopback"
    )
    for label, rate in rates.items():
        print(f"{label}: {rate:.0f} req/s")
    for label, _path, _h, _m, _r in endpoints[1:]:
        ratio = rates[label] / rates["bare list"]
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        print(f"{label} throughput / bare list: {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")
    print(
        f"enrolments created through the API: {len(factory_ids):,} at {enrolled:.1f} per second "
        f"({WRITERS} connections, one POST each with an Idempotency-Key)"
    )
    print(f"total {time.monotonic() - began:.0f} s; gunicorn log in {workdir}")


if __name__ == "__main__":
    main()
