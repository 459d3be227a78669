"""The columns of a supplier list: names, common aliases, required ones and their limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    field: str  # key in a row's cleaned values (and the Factory attribute, mostly)
    header: str  # the header the template uses (files are data: kept in English)
    title: str | Promise  # what the preview shows, translated
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_length: int = 300


COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        "Factory name",
        _("Factory name"),
        (
            "name",
            "factory",
            "supplier name",
            "supplier",
            "facility",
            "facility name",
            "factory name",
            "site name",
            "company name",
            "enterprise name",
        ),
        required=True,
        max_length=300,
    ),
    Column(
        "address",
        "Address",
        _("Address"),
        ("site address", "factory address", "facility address", "street address", "street"),
        required=True,
        max_length=500,
    ),
    Column(
        "country",
        "Country",
        _("Country"),
        # Open Supply Hub's download has country_code (ISO) then country_name: the first wins.
        ("country/region", "country / region", "country region", "country code", "country name"),
        required=True,
        max_length=100,
    ),
    Column(
        "supplier_code",
        "Supplier code",
        _("Your supplier code"),
        ("vendor code", "supplier id", "vendor id", "supplier number", "vendor number", "code"),
        max_length=100,
    ),
    Column(
        "os_id",
        "OS ID",
        _("Open Supply Hub ID"),
        ("os_id", "osid", "open supply hub id", "oar id", "os hub id"),
        max_length=15,
    ),
    Column(
        "name_latin",
        "Name in Latin script",
        _("Name in Latin script"),
        ("english name", "name (english)", "name in english", "latin name", "name (latin)"),
        max_length=300,
    ),
    Column("city", "City", _("City"), ("town", "city/town"), max_length=120),
    Column("sector", "Sector", _("Sector"), ("industry",), max_length=100),
    Column(
        "product_type",
        "Product type",
        _("Product type"),
        ("products", "product", "product category", "product types"),
        max_length=200,
    ),
    Column(
        "workers_total",
        "Number of workers",
        _("Workers"),
        ("workers", "total workers", "number of employees", "employees", "headcount"),
        max_length=20,
    ),
    Column(
        "workers_women",
        "Number of women workers",
        _("Women workers"),
        ("women workers", "female workers", "number of female workers", "women"),
        max_length=20,
    ),
    Column(
        "contact_name",
        "Factory manager name",
        _("Factory manager"),
        (
            "factory manager",
            "manager name",
            "contact name",
            "contact person",
            "contact",
            "claim_point_of_contact",  # Open Supply Hub's download (a claimed facility)
        ),
        max_length=200,
    ),
    Column(
        "contact_email",
        "Factory manager email",
        _("Factory manager email"),
        (
            "manager email",
            "contact email",
            "email",
            "e-mail",
            "email address",
            "claim_point_of_contact_email",  # Open Supply Hub's download
        ),
        max_length=254,
    ),
    Column(
        "contact_phone",
        "Factory manager phone",
        _("Factory manager phone"),
        (
            "manager phone",
            "contact phone",
            "phone",
            "telephone",
            "tel",
            "phone number",
            "claim_company_phone",  # Open Supply Hub's download
        ),
        max_length=50,
    ),
    Column(
        "parent_company",
        "Parent company",
        _("Parent company"),
        ("parent", "group", "holding company"),
        max_length=300,
    ),
)
BY_FIELD = {column.field: column for column in COLUMNS}
REQUIRED = tuple(column for column in COLUMNS if column.required)


def _header_key(text: str) -> str:
    text = text.replace("\ufeff", "").replace("_", " ").strip().lower()
    text = re.sub(r"\((required|optional)\)|[*:]", "", text)
    return " ".join(text.split())


_ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    for _alias in (_column.field, _column.header, *_column.aliases):
        _ALIASES.setdefault(_header_key(_alias), _column.field)


def map_headers(headers: list[str]) -> tuple[dict[int, str], list[str]]:
    """Which cell index feeds which field; and the headers nobody asked for (ignored)."""
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    taken: set[str] = set()
    for index, header in enumerate(headers):
        field = _ALIASES.get(_header_key(header))
        if field and field not in taken:
            mapping[index] = field
            taken.add(field)
        elif header.strip():
            ignored.append(header.strip())
    return mapping, ignored
