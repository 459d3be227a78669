"""Import a supplier list for a brand from the command line (ILO staff, support)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser

from partners.models import Partner
from suppliers import services
from suppliers.models import SupplierImport


class Command(BaseCommand):
    help = "Read a supplier list for a brand into a preview; with --confirm, write it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--brand", required=True, help="The brand's name or id.")
        parser.add_argument("--encoding", default="", help="Force a CSV encoding.")
        parser.add_argument("--confirm", action="store_true", help="Write the valid rows.")

    def handle(self, *args: Any, **options: Any) -> None:
        brand_ref: str = options["brand"]
        brands = (
            Partner.objects.funding() if hasattr(Partner.objects, "funding") else Partner.objects
        )
        brand = (
            brands.filter(pk=int(brand_ref)).first()
            if brand_ref.isdigit()
            else brands.filter(name__iexact=brand_ref).first()
        )
        if brand is None:
            raise CommandError(f"No brand {brand_ref!r}.")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        try:
            supplier_import = services.start_import(
                brand=brand, user=None, upload=upload, encoding=options["encoding"]
            )
            services.analyse_import(import_id=supplier_import.pk)  # no-op if already read
            supplier_import.refresh_from_db()
            self._report(supplier_import)
            if supplier_import.status != SupplierImport.Status.PREVIEWED:
                raise CommandError(supplier_import.error_message or "The file was not read.")
            if options["confirm"]:
                supplier_import = services.confirm_import(
                    supplier_import=supplier_import, user=None
                )
                services.write_import(import_id=supplier_import.pk)  # no-op if written
                supplier_import.refresh_from_db()
                self._report(supplier_import)
                if supplier_import.status != SupplierImport.Status.DONE:
                    raise CommandError(supplier_import.error_message)
        except services.SupplierError as exc:
            raise CommandError(str(exc)) from None

    def _report(self, supplier_import: SupplierImport) -> None:
        self.stdout.write(
            f"import {supplier_import.pk} {supplier_import.status}: {supplier_import.rows_total} "
            f"rows, {supplier_import.rows_new} new, {supplier_import.rows_matched} matched, "
            f"{supplier_import.rows_updated} updated, {supplier_import.rows_unchanged} unchanged, "
            f"{supplier_import.rows_review} to decide, {supplier_import.rows_error} errors"
        )
