"""Benchmark: what a brand does with a large supplier list once it is in the portal.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_portal \
        .venv/bin/python bench/supplier_lists.py

Creates its own database (score_bench_lists), imports the 100,000-row list of
bench/import_suppliers.py through the services, then times, in-process through the test
client as the brand's staff: the supplier list page, the CSV and XLSX exports, the matrix
CSV, and accepting 20,000 possible matches at once (an upload whose rows each look like, but
not exactly like, a factory already in the portal). For each it prints the time, the rows
per second where it writes rows, and (in a second, untimed run under tracemalloc) the most
Python memory the request held at once. Not a test: it prints figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
BENCH_DB = "score_bench_lists"
ROWS = 100_000
POSSIBLE_MATCHES = 20_000


def fetch(client: Any, url: str) -> tuple[int, bool]:
    """GET ``url``; the body's size, read a piece at a time if it streams."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    if response.streaming:
        return sum(len(part) for part in response.streaming_content), True
    return len(response.content), False


def main() -> None:
    import import_suppliers
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        import_suppliers.fail("Set DATABASE_URL to a PostgreSQL database")
    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(
        DATABASE_URL=f"{base}/{BENCH_DB}",
        DJANGO_SETTINGS_MODULE="score_portal.settings",
        SCORE_ENVIRONMENT="development",
    )
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True)
    path = import_suppliers.setup(os.environ["DATABASE_URL"], ROWS, Path(tempfile.mkdtemp()))

    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
    from django.test import Client

    from partners.models import Membership, Partner
    from partners.services import add_member
    from score_portal.models import User
    from suppliers.models import BrandSupplier, Factory
    from suppliers.services import confirm_import, decide_all_matches, start_import

    settings.SUPPLIER_IMPORT_MAX_BYTES = settings.SUPPLIER_IMPORT_INLINE_BYTES = 1 << 31
    settings.SUPPLIER_IMPORT_INLINE_ROWS = 1 << 31
    settings.MEDIA_ROOT = tempfile.mkdtemp()
    brand, _ = Partner.objects.get_or_create(name="Bench Brand", defaults={"kind": "brand"})
    staff = User.objects.create_user(email="staff@bench.example.org", password=None)
    add_member(partner=brand, user=staff, role=Membership.Role.STAFF)
    with path.open("rb") as stream:
        upload = UploadedFile(stream, name="suppliers.csv", size=path.stat().st_size)
        imported = start_import(brand=brand, user=staff, upload=upload)
    confirm_import(supplier_import=imported, user=staff)
    links = BrandSupplier.objects.filter(brand=brand).count()
    print(f"# {links:,} suppliers on the brand's list")

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(staff)
    client.get("/")  # warm: translations, templates, the connection
    for label, url, counted in [
        ("supplier list page", "/suppliers/", False),
        ("supplier export csv", "/suppliers/export.csv", True),
        ("supplier export xlsx", "/suppliers/export.xlsx", True),
        ("matrix csv", "/training/matrix.csv", True),
    ]:
        started = time.perf_counter()
        size, streamed = fetch(client, url)
        seconds = time.perf_counter() - started
        # Again under tracemalloc (slower, so not timed): the most Python memory the request
        # held at once, the body read a piece at a time as a download would be.
        tracemalloc.start()
        fetch(client, url)
        held = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rate = f", {links / seconds:,.0f} rows/s" if counted else ""
        print(
            f"{label}: {seconds:.2f} s{rate}, {size / 1e6:.1f} MB"
            f"{' streamed' if streamed else ''}, memory held at most {held / 1e6:.0f} MB"
        )

    Factory.objects.bulk_create(
        [
            Factory(name=f"Anatolia Denim Mill {n}", address=f"{n} Fabrika Yolu", country="TR")
            for n in range(POSSIBLE_MATCHES)
        ],
        batch_size=2000,
    )
    text = "Name,Address,Country\n" + "".join(
        f"Anatolia Denim Milll {n},{n} Fabrika Yolu,TR\n" for n in range(POSSIBLE_MATCHES)
    )
    review = start_import(
        brand=brand, user=staff, upload=SimpleUploadedFile("review.csv", text.encode())
    )
    assert review.rows_review == POSSIBLE_MATCHES, review.rows_review
    started = time.perf_counter()
    decide_all_matches(supplier_import=review, is_same=True, user=staff)
    seconds = time.perf_counter() - started
    review.refresh_from_db()
    assert review.rows_matched == POSSIBLE_MATCHES
    print(
        f"accept all {POSSIBLE_MATCHES:,} possible matches: {seconds:.2f} s, "
        f"{POSSIBLE_MATCHES / seconds:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
