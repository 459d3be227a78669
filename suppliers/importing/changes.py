"""What a row changes on a factory already in the portal, and the rule for shared data.

A brand's row speaks for two things. The brand's own link (its supplier code, whether the
supplier is on its list) is the brand's: a row always sets it. The factory's record (name,
address, city, workers, contacts, ...) is shared by every brand that lists the factory and
by the factory itself, so a row never overwrites it: a blank is filled; a value that differs
becomes a proposal (``FactoryChange``) that the factory's managers or the ILO accept or
reject. A brand is not asked twice for a value it already proposed (pending) or that was
rejected. Addresses are compared as matching compares them (case, accents, spacing and
abbreviations are no change; an address whose words are all in the stored one says less,
not something else); names are never proposed, only a blank Latin name filled; a
value in Latin script where the factory's is in another script (or the reverse) is the
brand's rendering of it, not a change.

Computed while the file is read (a batch of rows at a time: three queries a batch) and again
for a row a person decides on; the confirm then applies the stored ``changes`` in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from suppliers.importing.matching import FILLABLE
from suppliers.importing.normalise import (
    address_key,
    keys_source,
    match_keys,
    name_words,
    tokens,
)
from suppliers.models import BrandSupplier, Factory, FactoryChange, SupplierImportRow

Outcome = SupplierImportRow.Outcome
# Shared factory fields a brand's row may propose a change to (the OS ID and the country
# identify a factory: a different one is another factory, never a change; names are the
# factory's own, see ``row_changes``).
PROPOSABLE = (
    "address",
    "city",
    "sector",
    "product_type",
    "workers_total",
    "workers_women",
    "parent_company",
    "contact_name",
    "contact_email",
    "contact_phone",
)
FILL, PROPOSE, CODE, RELIST = "fill", "propose", "code", "relist"
_SETTLED = (Outcome.MATCHED, Outcome.UPDATED, Outcome.UNCHANGED)
_VALUES = (
    "id",
    "name",
    "name_latin",
    *PROPOSABLE,
    "os_id",
    "match_name",
    "match_name_latin",
    "match_address",
)


class Row(Protocol):
    """A preview row, stored (SupplierImportRow) or not yet (analysis.PreviewRow)."""

    outcome: str
    data: dict[str, Any]
    factory_id: int | None
    duplicate_of: int | None
    changes: dict[str, Any]
    match_name: str
    match_name_latin: str
    match_address: str


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_NOT_LATIN = re.compile("[^\x00-\u024f]")  # past Latin Extended-B


def _is_latin(text: str) -> bool:
    return not _NOT_LATIN.search(text)


def _address_words(address: str) -> set[str]:
    """An address's words as matching reads them (abbreviations spelt out)."""
    return {address_key(word) for word in tokens(address)}


def row_changes(
    row: Row,
    factory: dict[str, Any],
    link: tuple[str, bool] | None,
    proposed: set[tuple[str, str]],
) -> dict[str, dict[str, str]]:
    """``row``'s changes to ``factory`` (its values), given the brand's link to it (code,
    ended) and the values the brand already proposed or had rejected (field, value)."""
    data = row.data
    changes: dict[str, dict[str, str]] = {}
    name_keys = {factory["match_name"], factory["match_name_latin"]} - {""}
    source = keys_source(factory["name"], factory["name_latin"], factory["address"])
    if factory.get("match_source") != source:
        stored = match_keys(factory["name"], factory["name_latin"], factory["address"])
        name_keys = {stored[0], stored[1]} - {""}
        factory_address = stored[2]
    else:
        factory_address = factory["match_address"]

    def change(field: str, new: str) -> None:
        old = _text(factory[field])
        if old == "":
            changes[field] = {"old": "", "new": new, "how": FILL}
        elif _is_latin(old) != _is_latin(new):
            pass  # the same text in another script ("Dongguan", 东莞): a rendering, no change
        elif (field, new) not in proposed:
            changes[field] = {"old": old, "new": new, "how": PROPOSE}

    # Names: brands write a factory's name their own way (another spelling, script or
    # legal form is the same factory, which is how the row found it): never proposed over
    # the factory's own. A blank Latin name is filled (with the row's name if the row
    # writes in Latin script and the factory's name is in another).
    name = data.get("name", "")
    latin = data.get("name_latin", "")
    if not factory["name_latin"]:
        if latin and " ".join(name_words(latin)) not in name_keys:
            changes["name_latin"] = {"old": "", "new": latin, "how": FILL}
        elif (
            not latin
            and name
            and _is_latin(name)
            and not _is_latin(factory["name"])
            and (row.match_name or " ".join(name_words(name))) not in name_keys
        ):
            changes["name_latin"] = {"old": "", "new": name, "how": FILL}
            # The confirm fills it as it fills any Latin name the row gives.
            row.data["name_latin"] = name
            row.match_name_latin = row.match_name or " ".join(name_words(name))
    address = data.get("address", "")
    if (
        address
        and (row.match_address or address_key(address)) != factory_address
        and not _address_words(address) <= _address_words(factory["address"])
    ):
        change("address", address)
    for field in ("city", "sector", "product_type", "parent_company", "contact_name"):
        value = data.get(field, "")
        if value and value != factory[field]:
            change(field, value)
    email = data.get("contact_email", "")
    if email and email.lower() != factory["contact_email"].lower():
        change("contact_email", email)
    phone = data.get("contact_phone", "")
    if phone and "".join(phone.split()) != "".join(factory["contact_phone"].split()):
        change("contact_phone", phone)
    os_id = data.get("os_id", "")
    if os_id and not factory["os_id"]:
        changes["os_id"] = {"old": "", "new": os_id, "how": FILL}
    total, women = data.get("workers_total"), data.get("workers_women")
    if factory["workers_total"] is None and factory["workers_women"] is None:
        if isinstance(total, int):  # workers come as a pair (``writing._fill_blanks``)
            changes["workers_total"] = {"old": "", "new": str(total), "how": FILL}
            if isinstance(women, int):
                changes["workers_women"] = {"old": "", "new": str(women), "how": FILL}
    else:
        for field, value in (("workers_total", total), ("workers_women", women)):
            if isinstance(value, int) and value != factory[field]:
                if factory[field] is None:
                    continue  # half a pair is not filled: propose nothing either
                if (field, str(value)) not in proposed:
                    changes[field] = {"old": str(factory[field]), "new": str(value), "how": PROPOSE}
    if link is not None:
        code, ended = link
        new_code = data.get("supplier_code", "")
        if new_code and new_code != code:
            changes["supplier_code"] = {"old": code, "new": new_code, "how": CODE}
        if ended:
            changes["listed"] = {"old": "", "new": "", "how": RELIST}
    return changes


def settle(rows: Sequence[Row], brand_id: int) -> None:
    """Give each row matched to a factory (not a repeat) its changes and its outcome: on
    the brand's list or not (matched), with changes (updated) or without (unchanged)."""
    todo = [
        r
        for r in rows
        if r.factory_id is not None and r.outcome in _SETTLED and r.duplicate_of is None
    ]
    if not todo:
        return
    ids = {r.factory_id for r in todo if r.factory_id is not None}
    factories = {
        f["id"]: f
        for f in Factory.objects.filter(pk__any_of=ids).values(*_VALUES, "match_source").order_by()
    }
    links = {
        factory_id: (code, ended is not None)
        for factory_id, code, ended in BrandSupplier.objects.filter(
            brand_id=brand_id, factory_id__any_of=ids
        )
        .order_by()
        .values_list("factory_id", "supplier_code", "ended_at")
    }
    proposed: dict[int, set[tuple[str, str]]] = {}
    for factory_id, field, value in (
        FactoryChange.objects.filter(brand_id=brand_id, factory_id__any_of=ids)
        .exclude(status=FactoryChange.Status.ACCEPTED)
        .order_by()
        .values_list("factory_id", "field", "value")
    ):
        proposed.setdefault(factory_id, set()).add((field, value))
    for row in todo:
        factory = factories.get(row.factory_id)  # type: ignore[arg-type]
        if factory is None:  # deleted meanwhile: a new factory after all
            row.factory_id, row.outcome, row.changes = None, Outcome.NEW, {}
            continue
        link = links.get(factory["id"])
        row.changes = row_changes(row, factory, link, proposed.get(factory["id"], set()))
        if link is None:
            row.outcome = Outcome.MATCHED
        elif row.changes:
            row.outcome = Outcome.UPDATED
        else:
            row.outcome = Outcome.UNCHANGED


def settle_stored(rows: Iterable[SupplierImportRow], brand_id: int) -> list[SupplierImportRow]:
    """``settle`` for stored rows, saved (a batch at a time)."""
    rows = list(rows)
    settle(rows, brand_id)
    SupplierImportRow.objects.bulk_update(
        rows, ["factory", "outcome", "changes", "data", "match_name_latin"], batch_size=1000
    )
    return rows


# Fields FILLABLE holds and a row may fill; what a fill means is ``writing._fill_blanks``.
assert set(FILLABLE) - {"os_id", "name_latin"} <= set(PROPOSABLE)
