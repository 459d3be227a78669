"""The supplier-list column schema, declared once for django-import-export, and the file
format the admin's import reads with: the portal's one upload reader."""

from __future__ import annotations

import io

import tablib
from import_export import fields, resources
from import_export.formats.base_formats import Format

from score_portal.uploads import open_table
from suppliers.models import Factory


class UploadedTable(Format):
    """A CSV, TXT or XLSX file read by ``score_portal.uploads``, so the admin's import takes
    every encoding and layout the brands' upload page does (import-export's own formats
    read UTF-8 only), and refuses garbage with the same messages."""

    def get_title(self) -> str:
        return "csv / txt / xlsx"

    def get_extension(self) -> str:
        return "csv"

    def can_import(self) -> bool:
        return True

    def create_dataset(self, in_stream: bytes) -> tablib.Dataset:
        # import-export hands over the bytes without the file's name: a zip is a workbook.
        name = "upload.xlsx" if in_stream.startswith(b"PK\x03\x04") else "upload.csv"
        table = open_table(io.BytesIO(in_stream), filename=name)
        width = len(table.headers)
        dataset = tablib.Dataset(headers=table.headers)
        for _line, cells in table.rows:
            dataset.append((cells + [""] * width)[:width])
        return dataset


class FactoryResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="factory_name")

    class Meta:
        model = Factory
        fields = (
            "id",
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
        import_id_fields = ("id",)
        skip_unchanged = True
