"""Benchmark: a brand's supplier list imported end to end on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_portal \
        .venv/bin/python bench/import_suppliers.py

Creates its own database (score_bench), migrates it, and for 100,000 and 300,000 rows: loads
30% of the file's factories beforehand (COPY, from this process), streams a CSV with mixed
scripts, OS IDs on a tenth of the rows and duplicates inside the file to disk, then imports
it in a child process (so its peak RSS is the import's own; a long list's rows are read by
a helper process it forks, whose peak is printed beside it) through the same services the
web uses: upload, parse, validate, normalise, match, preview rows, confirm, write in one
transaction. The 100,000-row import runs BENCH_IMPORT_RUNS times (3), each from a fresh
setup, and its median run counts (every run is printed). To tell the file's length from the
portal's size, it also imports the 100,000-row file into the portal the 300,000-row run
starts from (90,000 factories already there): peak memory then differs by the file alone.
Then it measures COPY of the same rows into a bare table (five times, the median) and
django-import-export's default import of a 10,000-row sample through
suppliers.resources.FactoryResource. Not a test: it prints figures.
"""

from __future__ import annotations

import csv
import datetime
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# A database of its own (BENCH_IMPORT_DB), and the sizes divided by BENCH_IMPORT_SCALE for a
# quick check that the bench runs (BENCH_IMPORT_SCALE=1000: 100 and 300 rows; no figures).
BENCH_DB = os.environ.get("BENCH_IMPORT_DB", "score_bench")
SCALE = max(1, int(os.environ.get("BENCH_IMPORT_SCALE", "1")))
SMALL, LARGE = 100_000 // SCALE, 300_000 // SCALE
SAMPLE = min(10_000, SMALL)
RUNS = max(1, int(os.environ.get("BENCH_IMPORT_RUNS", "3")))
COPY_RUNS = 5

LATIN = [
    "an",
    "bei",
    "chen",
    "da",
    "fu",
    "guang",
    "hua",
    "jin",
    "kang",
    "li",
    "ming",
    "nan",
    "ping",
    "qing",
    "rong",
    "sheng",
    "tai",
    "wei",
    "xin",
    "yang",
    "zhong",
]
HANZI = "华美制衣纺织服装鞋业电子塑料五金家具食品针织印染皮革玩具"
TURKISH = ["Özdemir", "Çağlar", "Şahin", "Yıldız", "Güneş", "Doğan", "Aydın", "Kılıç"]
VIET = ["Việt Tiến", "Thành Công", "Phước Long", "Hòa Bình", "Đức Giang", "Nhà Bè"]
WORDS = ["Garment", "Textile", "Knitting", "Footwear", "Apparel", "Fashion", "Denim", "Weaving"]


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


def database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        fail(
            "Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/score_portal"
        )
    base = url.rsplit("/", 1)[0]
    return f"{base}/postgres", f"{base}/{BENCH_DB}"


def factory_row(rng: random.Random, n: int) -> tuple[str, str, str]:
    script = n % 4
    if script == 0:
        name = "".join(rng.choice(HANZI) for _ in range(4)) + f"{n}号有限公司"
        return name, f"工业路{n}号", rng.choice(["CN", "China", "CHN"])
    if script == 1:
        name = f"{rng.choice(TURKISH)} {rng.choice(WORDS)} {n} San. ve Tic. A.Ş."
        return name, f"Organize Sanayi Bölgesi {n}. Cad.", rng.choice(["TR", "Türkiye", "Turkey"])
    if script == 2:
        name = f"Công ty TNHH {rng.choice(VIET)} {n}"
        return name, f"{n} Lê Lợi, Quận {n % 12 + 1}", rng.choice(["VN", "Viet Nam", "VNM"])
    syllables = "".join(rng.choice(LATIN) for _ in range(2)).title()
    return f"{syllables} {rng.choice(WORDS)} {n} Co., Ltd.", f"{n} Industrial Road", "BD"


def os_id_of(n: int, country: str) -> str:
    """Every tenth factory has an Open Supply Hub ID (unique, in the OS ID format)."""
    return f"{country}{n % 10_000_000:07d}OS{n % 10_000:04d}" if n % 10 == 0 else ""


COUNTRY = {
    "China": "CN",
    "CHN": "CN",
    "Türkiye": "TR",
    "Turkey": "TR",
    "Viet Nam": "VN",
    "VNM": "VN",
}


def setup(bench_url: str, rows: int, directory: Path, *, portal: int = 0) -> Path:
    """Empty the supplier tables, load the 30% of factories that already exist (of a
    ``portal``-row file's factories, if given), write the CSV (streamed: nothing here holds
    the whole list)."""
    import django
    import psycopg

    django.setup()
    from suppliers.importing.normalise import keys_source, match_keys

    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(bench_url) as conn, conn.cursor() as cur:
        cur.execute(
            "TRUNCATE suppliers_brandsupplier, suppliers_supplierimportrow, "
            "suppliers_suppliermatchdecision, suppliers_supplierimport, suppliers_factory "
            "CASCADE"
        )
        # 30% of the file's factories are already in the portal (every third one, first 30%),
        # with their stored match keys as the portal keeps them (save() and imports do). Of
        # those the file gives an OS ID for, half have it already (matched by it) and half
        # not yet (the import fills it in).
        with cur.copy(
            "COPY suppliers_factory (name, name_latin, address, city, country, sector, "
            "product_type, os_id, registration_number, parent_company, language, "
            "contact_name, contact_email, contact_phone, created_at, updated_at, "
            "match_name, match_name_latin, match_address, match_source) FROM STDIN"
        ) as copy:
            world = portal or rows
            for n in range(0, world, 3)[: int(world * 0.3)]:
                name, address, country = factory_row(random.Random(n), n)
                country = COUNTRY.get(country, country)
                blank = ""
                copy.write_row(
                    (
                        name,
                        blank,
                        address,
                        blank,
                        country,
                        *[blank] * 2,
                        os_id_of(n, country) if n % 20 == 0 else blank,
                        *[blank] * 2,
                        "en",
                        *[blank] * 3,
                        now,
                        now,
                        *match_keys(name, blank, address),
                        keys_source(name, blank, address),
                    )
                )
        conn.commit()
        cur.execute("ANALYZE suppliers_factory")
        conn.commit()
    path = directory / f"suppliers-{rows}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Factory Name", "Address", "Country", "Supplier code", "Workers", "OS ID"])
        for i in range(rows):
            n = i if i % 20 else max(0, i - 7)  # 5% repeat a row a little earlier in the file
            name, address, country = factory_row(random.Random(n), n)
            os_id = os_id_of(n, COUNTRY.get(country, country))
            writer.writerow([name, address, country, f"S-{n}", str(50 + n % 400), os_id])
    return path


def child(path: Path) -> None:
    """One end-to-end import of the file at ``path``; prints its time and this process's
    peak RSS."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import UploadedFile

    from partners.models import Partner
    from score_portal import jobs
    from suppliers.importing.writing import refresh_statistics
    from suppliers.models import Factory
    from suppliers.services import confirm_import, start_import

    # Tasks run in this process (no broker): the jobs the import queues for after its commit
    # (the search keys, ``suppliers.tasks.refresh_search_keys``, and the planner's statistics,
    # ``refresh_statistics``: each a job of its own in a worker, the import done before them)
    # would run inside the timed confirm. They are left aside here, then timed on their own.
    after_commit = {"suppliers.tasks.refresh_search_keys", "suppliers.tasks.refresh_statistics"}
    publish = jobs.publish
    jobs.publish = lambda name, *args: name in after_commit or publish(name, *args)

    helpers: list[tuple[Any, ...]] = []

    class Helpers(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg.startswith("Helper process"):
                helpers.append(tuple(record.args or ()))

    helper_log = logging.getLogger("suppliers.importing.preparing")
    helper_log.setLevel(logging.INFO)
    helper_log.addHandler(Helpers())

    settings.SUPPLIER_IMPORT_MAX_BYTES = 1 << 31
    settings.SUPPLIER_IMPORT_INLINE_BYTES = 1 << 31  # run in this process (no broker here)
    settings.SUPPLIER_IMPORT_INLINE_ROWS = 1 << 31
    settings.MEDIA_ROOT = tempfile.mkdtemp()
    brand, _ = Partner.objects.get_or_create(name="Bench Brand", defaults={"kind": "brand"})
    with path.open("rb") as stream:
        upload = UploadedFile(stream, name="suppliers.csv", size=path.stat().st_size)
        started = time.perf_counter()
        supplier_import = start_import(brand=brand, user=None, upload=upload)
    read = time.perf_counter()
    assert supplier_import.status == "previewed", supplier_import.error_message
    supplier_import = confirm_import(supplier_import=supplier_import, user=None)
    elapsed = time.perf_counter() - started
    assert supplier_import.status == "done", supplier_import.error_message
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The helper process that read and prepared the rows (suppliers.importing.preparing),
    # forked from this one: its own peak (shared pages included), as it logs it.
    helper_mb = helpers[-1][2] if helpers else 0
    keys_started = time.perf_counter()
    keys = Factory.objects.refresh_blank_search_keys()
    keys_seconds = time.perf_counter() - keys_started
    statistics_started = time.perf_counter()
    refresh_statistics(supplier_import.rows_valid)  # a no-op below ANALYZE_AFTER_ROWS
    statistics_seconds = time.perf_counter() - statistics_started
    print(
        f"rows={supplier_import.rows_total} seconds={elapsed:.2f} read={read - started:.2f} "
        f"write={elapsed - (read - started):.2f} new={supplier_import.rows_new} "
        f"matched={supplier_import.rows_matched} unchanged={supplier_import.rows_unchanged} "
        f"errors={supplier_import.rows_error} peak_mb={peak_mb:.0f} helper_mb={helper_mb:.0f} "
        f"search_keys={keys} search_keys_seconds={keys_seconds:.2f} "
        f"statistics_seconds={statistics_seconds:.2f}"
    )


def main() -> None:
    admin_url, bench_url = database_urls()
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "score_portal.settings",
        # As in production: DEBUG keeps every query's SQL, which no deployment pays for.
        "DEBUG": "false",
    }
    os.environ.update(env)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)

    directory = Path(tempfile.mkdtemp())
    results: dict[tuple[int, int], dict[str, str]] = {}
    files: dict[int, Path] = {}
    # (rows in the file, rows whose 30% the portal holds beforehand, runs). The headline case
    # runs RUNS times, each from a fresh setup, and counts by its median run: on a shared
    # host one run varied by a fifth from the next. Every run is printed.
    for rows, portal, runs in ((SMALL, SMALL, RUNS), (LARGE, LARGE, 1), (SMALL, LARGE, 1)):
        measured = []
        for _run in range(runs):
            files[rows] = setup(bench_url, rows, directory, portal=portal)
            out = (
                subprocess.run(
                    [sys.executable, __file__, "--child", str(files[rows])],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            measured.append(dict(part.split("=", 1) for part in out.split()))
            print(f"# portal={int(portal * 0.3)} {out}")
        measured.sort(key=lambda fields: float(fields["seconds"]))
        results[rows, portal] = measured[(len(measured) - 1) // 2]  # the median run

    # Raw COPY of the same file into a bare table (no indexes, no constraints): reading the
    # CSV and sending its rows, the floor of moving these bytes into PostgreSQL. A tenth of a
    # second, so measured COPY_RUNS times, into a new table each time: the median counts.
    copy_rates = []
    with psycopg.connect(bench_url) as conn, conn.cursor() as cur:
        for _run in range(COPY_RUNS):
            cur.execute(
                "CREATE TABLE bare (name text, address text, country text, code text, "
                "workers text, os_id text)"
            )
            conn.commit()
            started = time.perf_counter()
            with files[SMALL].open(encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                next(reader)
                with cur.copy("COPY bare FROM STDIN") as copy:
                    for row in reader:
                        copy.write_row(row)
            conn.commit()
            copy_rates.append(SMALL / (time.perf_counter() - started))
            cur.execute("DROP TABLE bare")
            conn.commit()
    copy_rate = statistics.median(copy_rates)
    with files[SMALL].open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        data = [next(reader) for _ in range(SAMPLE)]

    import django

    django.setup()
    import tablib

    from suppliers.resources import FactoryResource

    sample = tablib.Dataset(headers=["id", "factory_name", "address", "country"])
    for name, address, country, _code, _workers, _os_id in data[:SAMPLE]:
        sample.append(["", name, address, COUNTRY.get(country, country)])
    started = time.perf_counter()
    result = FactoryResource().import_data(sample, dry_run=False, raise_errors=True)
    ie_rate = len(sample) / (time.perf_counter() - started)
    assert not result.has_errors()

    rate = {key: key[0] / float(fields["seconds"]) for key, fields in results.items()}
    e2e = rate[SMALL, SMALL]
    print(f"end-to-end: {e2e:,.0f} rows/s (median of {RUNS} runs)")
    print(f"end-to-end 300k: {rate[LARGE, LARGE]:,.0f} rows/s")
    print(
        f"copy: {copy_rate:,.0f} rows/s (median of {COPY_RUNS}: "
        + ", ".join(f"{r:,.0f}" for r in copy_rates)
        + ")"
    )
    print(f"import-export default: {ie_rate:,.0f} rows/s")
    print(f"end-to-end / copy: {e2e / copy_rate:.3f}")
    print(f"end-to-end / import-export default: {e2e / ie_rate:.1f}")
    for (size, portal), fields in results.items():
        print(
            f"peak memory {size:,} rows, {int(portal * 0.3):,} factories in the portal: "
            f"{float(fields['peak_mb']):,.0f} MB "
            f"(its helper process {float(fields['helper_mb']):,.0f} MB)"
        )
    same_portal = [results[n, LARGE]["peak_mb"] for n in (SMALL, LARGE)]
    print(
        "peak memory 300,000 / 100,000 rows, same portal: "
        f"{float(same_portal[1]) / float(same_portal[0]):.2f}"
    )
    keys = results[SMALL, SMALL]
    print(
        f"search keys after the import (a job of its own): {int(keys['search_keys']):,} "
        f"factories in {float(keys['search_keys_seconds']):.2f} s"
    )
    print(
        "planner statistics after the import (a job of its own): "
        f"{float(keys['statistics_seconds']):.2f} s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]))
    else:
        main()
