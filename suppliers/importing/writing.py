"""Write a confirmed import: new factories, brand links, codes, blanks filled.

The caller holds one transaction around ``write_rows``: any failure leaves the database as
it was. Rows are read and written in chunks with bulk statements, so time grows linearly and
memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from suppliers.importing.matching import FILLABLE
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow

CHUNK = 5000
Outcome = SupplierImportRow.Outcome
WRITTEN = (Outcome.NEW, Outcome.MATCHED, Outcome.UPDATED)
FACTORY_FIELDS = (
    "name",
    "name_latin",
    "address",
    "city",
    "country",
    "sector",
    "product_type",
    "workers_total",
    "workers_women",
    "os_id",
    "parent_company",
    "contact_name",
    "contact_email",
    "contact_phone",
)


def save_rows(supplier_import: SupplierImport, rows: list[SupplierImportRow]) -> None:
    """Store a batch of preview rows."""
    for row in rows:
        row.supplier_import_id = supplier_import.pk
    SupplierImportRow.objects.bulk_create(rows, batch_size=1000)


def _chunks(rows: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _new_factory(values: dict[str, Any]) -> Factory:
    return Factory(
        **{
            f: values.get(f, "" if f not in ("workers_total", "workers_women") else None)
            for f in FACTORY_FIELDS
        }
    )


def write_rows(
    supplier_import: SupplierImport, progress: Callable[[float], None] = lambda f: None
) -> None:
    """Create and link everything the preview promised. Call inside transaction.atomic()."""
    brand_id = supplier_import.brand_id
    rows = (
        SupplierImportRow.objects.filter(
            supplier_import=supplier_import, outcome__in=WRITTEN, duplicate_of__isnull=True
        )
        .order_by("line")
        .values_list("outcome", "data", "factory_id")
    )
    total = max(
        1, supplier_import.rows_new + supplier_import.rows_matched + supplier_import.rows_updated
    )
    done = 0
    for chunk in _chunks(rows.iterator(chunk_size=CHUNK), CHUNK):
        new = [
            (values, _new_factory(values))
            for outcome, values, _f in chunk
            if outcome == Outcome.NEW
        ]
        Factory.objects.bulk_create([factory for _v, factory in new], batch_size=1000)
        links: list[BrandSupplier] = [
            BrandSupplier(
                brand_id=brand_id,
                factory_id=factory.pk,
                supplier_code=values.get("supplier_code", ""),
                source_import=supplier_import,
            )
            for values, factory in new
        ]
        existing = {f: values for outcome, values, f in chunk if outcome != Outcome.NEW}
        if existing:
            _fill_blanks(existing)
            linked = {
                link.factory_id: link
                for link in BrandSupplier.objects.filter(brand_id=brand_id, factory_id__in=existing)
            }
            changed: list[BrandSupplier] = []
            for factory_id, values in existing.items():
                code = values.get("supplier_code", "")
                link = linked.get(factory_id)
                if link is None:
                    links.append(
                        BrandSupplier(
                            brand_id=brand_id,
                            factory_id=factory_id,
                            supplier_code=code,
                            source_import=supplier_import,
                        )
                    )
                elif code and link.supplier_code != code:
                    link.supplier_code = code
                    changed.append(link)
            BrandSupplier.objects.bulk_update(changed, ["supplier_code"], batch_size=1000)
        BrandSupplier.objects.bulk_create(links, batch_size=1000)
        done += len(chunk)
        progress(done / total)


def _fill_blanks(values_by_factory: dict[int, dict[str, Any]]) -> None:
    """Complete what existing factories lack (never overwrite what someone else entered)."""
    factories = Factory.objects.filter(pk__in=values_by_factory).only(
        "pk", *FILLABLE, "workers_total", "workers_women"
    )
    taken_os_ids = (
        set(
            Factory.objects.filter(
                os_id__in=[v["os_id"] for v in values_by_factory.values() if v.get("os_id")]
            ).values_list("os_id", flat=True)
        )
        if any(v.get("os_id") for v in values_by_factory.values())
        else set()
    )
    changed: dict[str, list[Factory]] = {}
    for factory in factories:
        values = values_by_factory[factory.pk]
        fields: list[str] = []
        for name in FILLABLE:
            value = values.get(name)
            if value and not getattr(factory, name):
                if name == "os_id" and value in taken_os_ids:
                    continue
                setattr(factory, name, value)
                fields.append(name)
        if (
            factory.workers_total is None
            and factory.workers_women is None
            and values.get("workers_total") is not None
        ):
            factory.workers_total = values["workers_total"]
            factory.workers_women = values.get("workers_women")
            fields += ["workers_total", "workers_women"]
        if fields:
            changed.setdefault(",".join(sorted(fields)), []).append(factory)
    for fields_key, group in changed.items():
        Factory.objects.bulk_update(group, fields_key.split(","), batch_size=1000)
