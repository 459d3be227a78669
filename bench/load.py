"""Load test: every persona's pages and actions against gunicorn, PostgreSQL, Redis and a
Celery worker, for five minutes (locust, headless, loopback only, bounded in time).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_bench_load .venv/bin/python bench/load.py

Drops and recreates the database named in DATABASE_URL (its name must contain "bench"),
migrates it and loads the demo data (`load_demo`: the seven demo accounts, their
partnerships, enrolments and a certificate). Then it serves the portal with gunicorn (DEBUG
off, BENCH_WORKERS sync workers), starts a Celery worker on every queue, and runs
bench/locustfile.py: brand staff, factory managers, trainers, ILO admins and anonymous
visitors in the weights written there, BENCH_LOAD_USERS of them at once. It prints, per page
type, the requests, failures and p50/p95/p99, then the rate the machine held, and exits 1 if
any request failed.

Options (environment): BENCH_LOAD_SECONDS (300), BENCH_LOAD_USERS (24), BENCH_WORKERS (3),
BENCH_REDIS_URL (redis://127.0.0.1:6379/13). Not a test: it prints figures.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "300"))
USERS = int(os.environ.get("BENCH_LOAD_USERS", "24"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BIN = Path(sys.executable).parent


def fail(message: str) -> None:
    print(f"bench/load.py: {message}", file=sys.stderr)
    sys.exit(2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SCORE_VAR_DIR": str(workdir / "var"),
        "EMAIL_URL": f"filemail://{workdir / 'emails'}",
        "LOG_LEVEL": "WARNING",
        # The load test measures the pages, not the public check's limit per address.
        "CERTIFICATE_VERIFY_RATE_PER_MINUTE": "100000",
    }


def prepare(url: str, env: dict[str, str]) -> str:
    """A fresh database with the demo data; returns a certificate code to verify."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        fail("DATABASE_URL must name a database whose name contains 'bench'.")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT code FROM training_certificate WHERE status = 'issued' LIMIT 1"
        ).fetchone()
    return row[0] if row else ""


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def wait_for_http(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            fail(f"gunicorn exited; see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    fail(f"gunicorn did not answer; see {log}")


def report(stats_csv: Path, seconds: float) -> int:
    rows = list(csv.DictReader(stats_csv.open()))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    header = ("requests", "failures", "p50 ms", "p95 ms", "p99 ms")
    print(f"{'page type':<28} " + " ".join(f"{h:>9}" for h in header))
    for row in sorted((r for r in rows if r["Name"] != "Aggregated"), key=lambda r: r["Name"]):
        print(
            f"{row['Name']:<28} {int(row['Request Count']):>9} {int(row['Failure Count']):>9} "
            f"{row['50%']:>9} {row['95%']:>9} {row['99%']:>9}"
        )
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    print(f"requests: {requests:,} in {seconds:.0f} s, failures: {failures}")
    print(f"rate held: {float(total['Requests/s']):.1f} req/s")
    print(f"p95 all pages: {total['95%']} ms, p99: {total['99%']} ms")
    return 1 if failures else 0


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        fail("Set DATABASE_URL to a PostgreSQL database whose name contains 'bench'.")
    workdir = Path(tempfile.mkdtemp(prefix="score-load-"))
    env = environment(url, workdir)
    code = prepare(url, env)
    port = free_port()
    gunicorn = start(
        [str(BIN / "gunicorn"), "score_portal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--access-logfile", "-"],
        env, workdir / "gunicorn.log",
    )  # fmt: skip
    worker = start(
        [sys.executable, "-m", "celery", "-A", "score_portal", "worker", "--concurrency=1",
         "--loglevel=WARNING", "-Q", ",".join(_queues())],
        env, workdir / "worker.log",
    )  # fmt: skip
    try:
        wait_for_http(port, gunicorn, workdir / "gunicorn.log")
        began = time.monotonic()
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "-u", str(USERS), "-r", str(max(1, USERS // 4)), "-t", f"{SECONDS}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(workdir / "stats"),
             "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
            cwd=ROOT, env={**env, "BENCH_LOAD_CERTIFICATE": code}, check=False,
            stdout=(workdir / "locust.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        elapsed = time.monotonic() - began
        print(
            f"gunicorn {WORKERS} sync workers, 1 Celery worker, {USERS} locust users, "
            f"{SECONDS} s; logs in {workdir}"
        )
        sys.exit(report(workdir / "stats_stats.csv", elapsed))
    finally:
        for process in (gunicorn, worker):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _queues() -> list[str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "score_portal.settings")
    from django.conf import settings

    return list(settings.TASK_QUEUES.values())


if __name__ == "__main__":
    main()
