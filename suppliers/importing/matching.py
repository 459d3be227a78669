"""Find the factory a row means: OS ID, then the exact normalised key, then fuzzy candidates.

An index is built per import and per country on first use (one query each), so memory
follows the countries in the file, not the size of the whole factory table. Exact keys are
dict lookups; fuzzy candidates come only for rows with no exact match, from small blocks:
a name's digits must agree exactly ("Mill 12" is not "Mill 15"), so blocks are keyed on the
digits and a three-letter prefix, and a block grown past ``MAX_BLOCK`` is split on a longer
prefix the first time it is searched. Each block keeps its names in one list that
``rapidfuzz`` scans in C, so a row costs the same however large the factory table grows.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Q, Value, When
from rapidfuzz import fuzz, process

from suppliers.importing.normalise import address_key, keys_source, match_keys, name_words
from suppliers.models import (
    MATCH_FIELDS,
    BrandSupplier,
    Factory,
    FactoryAlias,
    SupplierMatchDecision,
)

# Fields an import may fill on an existing factory when they are still blank there.
FILLABLE = (
    "name_latin",
    "os_id",
    "city",
    "sector",
    "product_type",
    "parent_company",
    "contact_name",
    "contact_email",
    "contact_phone",
)
NAME_CUTOFF = 85
_DIGITS = re.compile(r"\d+")
ADDRESS_CUTOFF = 40
# A block with more names than this is searched through its longer-prefix sub-blocks.
MAX_BLOCK = 2000
_FINE_PREFIX = 6


@dataclass
class CountryIndex:
    """One country's factories, compactly: every name once in parallel lists (a factory with
    a Latin-script name too appears twice), blocks as positions in them."""

    by_key: dict[tuple[str, str], int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    # Machine integers, not Python ones (8 and 2 bytes a name instead of about 36).
    ids: array[int] = field(default_factory=lambda: array("q"))
    # Length of each name's first word: the rest of the name is its second blocking text.
    first_lengths: array[int] = field(default_factory=lambda: array("H"))
    # Positions in the lists above; ~position when the name is there by its rest. Most
    # blocks hold one name: that one is kept as a bare position, not a list of one.
    blocks: dict[str, int | list[int]] = field(default_factory=dict)
    finer: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # Which fields each factory still lacks (a handful of distinct sets, shared).
    blanks: dict[int, frozenset[str]] = field(default_factory=dict)

    def add(self, nkey: str, akey: str, factory_id: int, words: list[str]) -> None:
        self.by_key.setdefault((nkey, akey), factory_id)
        position = len(self.ids)
        self.names.append(nkey)
        self.addresses.append(akey)
        self.ids.append(factory_id)
        # A name has at most 300 characters (a few thousand letters transliterated): fits "H".
        self.first_lengths.append(len(words[0]) if words else 0)
        blocks = self.blocks
        for block, text in block_keys(words).items():
            entry = position if len(text) == len(nkey) else ~position
            entries = blocks.get(block)
            if entries is None:
                blocks[block] = entry
            elif isinstance(entries, int):
                blocks[block] = [entries, entry]
            else:
                entries.append(entry)

    def candidates(self, block: str, text: str) -> list[int]:
        """The block's positions; for an oversized one, those sharing a longer prefix."""
        entries = self.blocks.get(block)
        if entries is None:
            return []
        if isinstance(entries, int):
            return [entries if entries >= 0 else ~entries]
        if len(entries) <= MAX_BLOCK:
            return [e if e >= 0 else ~e for e in entries]
        finer = self.finer.get(block)
        if finer is None:
            finer = self.finer[block] = {}
            for entry in entries:
                position = entry if entry >= 0 else ~entry
                name = self.names[position]
                start = name if entry >= 0 else name[self.first_lengths[position] :]
                finer.setdefault(start[:_FINE_PREFIX], []).append(position)
        return finer.get(text[:_FINE_PREFIX], [])


def block_keys(words: list[str]) -> dict[str, str]:
    """Cheap buckets for fuzzy candidates, each with the text its prefix came from: the
    name's start, and its start after the first word (which is often a city: "Dongguan
    Huamei" vs "Huamei"); both within the name's digits, which must match exactly."""
    joined = "".join(words)
    digits = ",".join(_DIGITS.findall(joined))
    keys = {f"{digits}|{joined[:3]}": joined} if joined else {}
    if len(words) > 1:
        rest = "".join(words[1:])
        if rest:
            keys.setdefault(f"{digits}|{rest[:3]}", rest)
    return keys


@dataclass(slots=True)
class Match:
    factory_id: int | None = None
    candidate_id: int | None = None
    score: int | None = None
    how: str = ""


class MatchIndex:
    def __init__(self, brand_id: int) -> None:
        self.brand_id = brand_id
        self.links: dict[int, str] = dict(
            BrandSupplier.objects.filter(brand_id=brand_id).values_list(
                "factory_id", "supplier_code"
            )
        )
        self.code_owner: dict[str, int] = {code: fid for fid, code in self.links.items() if code}
        self.decisions: dict[str, dict[int, bool]] = {}
        for key, factory_id, is_same in SupplierMatchDecision.objects.filter(
            brand_id=brand_id
        ).values_list("row_key", "factory_id", "is_same"):
            self.decisions.setdefault(key, {})[factory_id] = is_same
        self.countries: dict[str, CountryIndex] = {}
        self.os_ids: dict[str, int] = {}

    def country(self, code: str) -> CountryIndex:
        index = self.countries.get(code)
        if index is None:
            index = self.countries[code] = self._load(code)
        return index

    def _load(self, code: str) -> CountryIndex:
        """The country's factories by their stored match keys; keys whose source texts
        changed behind save()'s back (or were never stored) are computed here instead."""
        index = CountryIndex()
        # Which fields each factory lacks, as a bit mask the database computes.
        blank_mask = sum(
            (
                Case(When(Q(**{f: ""}), then=Value(1 << bit)), default=Value(0))
                for bit, f in enumerate(FILLABLE)
            ),
            start=Case(
                When(workers_total__isnull=True, then=Value(1 << len(FILLABLE))),
                default=Value(0),
            ),
        )
        blank_sets: dict[int, frozenset[str]] = {}
        names = (*FILLABLE, "workers_total")
        rows = (
            Factory.objects.filter(country=code)
            .annotate(blank_mask=blank_mask)
            .values_list("id", *MATCH_FIELDS, "name", "name_latin", "address", "blank_mask")
        )
        for factory_id, name, latin, akey, source, *texts, mask in rows.iterator(5000):
            blanks = blank_sets.get(mask)
            if blanks is None:
                blanks = blank_sets[mask] = frozenset(
                    f for bit, f in enumerate(names) if mask & (1 << bit)
                )
            index.blanks[factory_id] = blanks
            if source is None or source != keys_source(*texts):
                name, latin, akey = match_keys(*texts)
            for stored in {name, latin} if texts[1] else (name,):
                words = stored.split()
                index.add("".join(words), akey, factory_id, words)
        # The names of records merged into a factory (suppliers.merging) find it too.
        aliases = FactoryAlias.objects.filter(factory__country=code, kind=FactoryAlias.Kind.NAME)
        for factory_id, name, akey in aliases.values_list(
            "factory_id", "match_name", "match_address"
        ):
            words = name.split()
            index.add("".join(words), akey, factory_id, words)
        return index

    def load_os_ids(self, os_ids: set[str]) -> None:
        """OS IDs are global: look up a batch's unseen ones in one query."""
        missing = [o for o in os_ids if o not in self.os_ids]
        if missing:
            # The exclude lets PostgreSQL use the partial index on os_id for any number of
            # ids (it proves "os_id <> ''" from a literal list of at most 100 only).
            found = dict(
                Factory.objects.filter(os_id__in=missing)
                .exclude(os_id="")
                .order_by()
                .values_list("os_id", "id")
            )
            unknown = [o for o in missing if o not in found]
            if unknown:  # the OS ID of a record merged into a factory (suppliers.merging)
                found.update(
                    FactoryAlias.objects.filter(kind=FactoryAlias.Kind.OS_ID, value__in=unknown)
                    .order_by()
                    .values_list("value", "factory_id")
                )
            for os_id in missing:
                self.os_ids[os_id] = found.get(os_id, 0)

    def blanks(self, country: str, factory_id: int) -> frozenset[str] | None:
        """The fields an existing factory lacks (None if it is in another country)."""
        return self.country(country).blanks.get(factory_id)

    def match(
        self,
        values: dict[str, Any],
        key: str,
        *,
        words: list[str] | None = None,
        akey: str | None = None,
        latin: list[str] | None = None,
    ) -> Match:
        """``words``, ``akey`` and ``latin`` are the row's name words, address key and Latin
        name words when the caller has them already (the import computes each once per
        row)."""
        country = values["country"]
        index = self.country(country)
        os_id = values.get("os_id")
        if os_id and self.os_ids.get(os_id):
            return Match(factory_id=self.os_ids[os_id], how="os_id")
        if words is None:
            words = name_words(values["name"])
        if akey is None:
            akey = address_key(values["address"])
        nkey = "".join(words)
        found = index.by_key.get((nkey, akey))
        if found is None and values.get("name_latin"):
            if latin is None:
                latin = name_words(values["name_latin"])
            found = index.by_key.get(("".join(latin), akey))
        if found is not None:
            return Match(factory_id=found, how="exact")
        decided = self.decisions.get(key)
        if decided:
            for factory_id, is_same in decided.items():
                if is_same:
                    return Match(factory_id=factory_id, how="decision")
        return self._fuzzy(index, words, nkey, akey, rejected=set(decided or ()))

    def _fuzzy(
        self, index: CountryIndex, words: list[str], nkey: str, akey: str, rejected: set[int]
    ) -> Match:
        if not nkey or not index.blocks:
            return Match()
        best: Match = Match()
        digits = _DIGITS.findall(nkey)
        seen: set[int] = set()
        for block_key, text in block_keys(words).items():
            positions = index.candidates(block_key, text)
            if not positions:
                continue
            names = index.names
            for _choice, name_score, found in process.extract(
                nkey,
                [names[p] for p in positions],
                scorer=fuzz.ratio,
                score_cutoff=NAME_CUTOFF,
                limit=5 + len(rejected),
            ):
                position = positions[found]
                factory_id = index.ids[position]
                if factory_id in rejected or factory_id in seen:
                    continue
                seen.add(factory_id)
                candidate_nkey, candidate_akey = names[position], index.addresses[position]
                if _DIGITS.findall(candidate_nkey) != digits:
                    continue  # "Mill 12" and "Mill 15" are two factories, however alike
                address_score = fuzz.token_set_ratio(akey, candidate_akey) if akey else 0
                if address_score < ADDRESS_CUTOFF:
                    continue
                score = round(0.7 * name_score + 0.3 * address_score)
                if best.score is None or score > best.score:
                    best = Match(candidate_id=factory_id, score=score, how="fuzzy")
        return best
