"""Find the factory a row means: OS ID, then its name's keys, then fuzzy candidates.

Names are compared by their keys (``normalise.NameKey``): in any script, without legal form,
kinds of business and filler, without the city's name. A row is matched (certain) when one
factory of its country has the same distinctive name, kinds of business that agree, the same
digits and a place that agrees (the same city, the row's city in the factory's address, or
the same address); it is proposed (a possible match, with a score) when the name is the same
but the place or kinds are in doubt, or when the names are alike (typos, transliterations:
rapidfuzz, and the consonants of Bengali, Hindi and Urdu transliterations).

An index is built per import and per country on first use (one query each), so memory
follows the countries in the file, not the size of the whole factory table. Keys are dict
lookups; fuzzy candidates come only for rows with no certain match, from small blocks: a
name's digits must agree exactly ("Mill 12" is not "Mill 15"), so blocks are keyed on the
digits and a three-letter prefix, and a block grown past ``MAX_BLOCK`` is split on a longer
prefix the first time it is searched. Each block keeps its names in one list that
``rapidfuzz`` scans in C, so a row costs the same however large the factory table grows.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Q, Value, When
from rapidfuzz import fuzz, process

from suppliers.importing.normalise import (
    NameKey,
    address_key,
    city_key,
    keys_source,
    match_keys,
    name_parts,
    places_of,
    same_city,
    skeleton,
    without_city,
)
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
# Names with the same consonants, fewer than three, are alike at least this much to be proposed.
SHORT_SOUND_CUTOFF = 60
# A possible match scores at least this (out of 100), or is not shown.
PROPOSE_CUTOFF = 60
_DIGITS = re.compile(r"\d+")
# A block with more names than this is searched through its longer-prefix sub-blocks.
MAX_BLOCK = 2000
_FINE_PREFIX = 6

AGREE, UNKNOWN, CONFLICT = 1, 0, -1


def location(city: str, akey: str, other_city: str, other_akey: str) -> int:
    """Whether two places are one: the same address, the same city (a typo or a
    transliteration apart), or one's city in the other's address (AGREE); two cities that
    differ (CONFLICT); too little to tell (UNKNOWN)."""
    if akey and akey == other_akey:
        return AGREE
    if city and other_city:
        if same_city(city, other_city):
            return AGREE
        if (len(city) >= 4 and city in other_akey) or (len(other_city) >= 4 and other_city in akey):
            return AGREE  # a district and its city ("Humen" and "Dongguan")
        return CONFLICT
    known, address = (city, other_akey) if city else (other_city, akey)
    if known:
        return AGREE if len(known) >= 4 and known in address else UNKNOWN
    if akey and other_akey and fuzz.ratio(akey, other_akey) >= 90:
        return AGREE
    return UNKNOWN


def kinds_agree(a: NameKey, b: NameKey) -> bool:
    """Kinds of business that do not contradict: they share one, or a name says nothing of
    its business at all ("Huamei Co., Ltd."; "Shahi Exports" says something, so it is not
    "Shahi Knitwear"). A name with nothing distinctive needs the same kinds."""
    if a.weak or b.weak:
        return a.kinds == b.kinds
    if a.kinds and b.kinds:
        return bool(a.kinds & b.kinds)
    bare = (not a.kinds and not a.filler) or (not b.kinds and not b.filler)
    return bare or a.kinds == b.kinds


def judge(
    row: NameKey,
    city: str,
    akey: str,
    entry: NameKey,
    entry_city: str,
    entry_akey: str,
    *,
    similarity: int,
) -> tuple[bool, int]:
    """(certain, score) of a row's name against a factory's name of the same country:
    certain only for the same distinctive name, agreeing kinds and an agreeing place."""
    place = location(city, akey, entry_city, entry_akey)
    weak = row.weak or entry.weak or row.core in (city, entry_city)
    kinds = kinds_agree(row, entry) if not weak else row.kinds == entry.kinds
    certain = similarity == 100 and kinds and place == AGREE
    if weak and place == CONFLICT:
        return False, 0  # "Ningbo Textile" in Shaoxing is not Ningbo's
    score = similarity - (0 if kinds else 15) - {AGREE: 0, UNKNOWN: 5, CONFLICT: 30}[place]
    return certain, max(score, 0)


@dataclass(slots=True)
class Probe:
    """A row's keys: its name's and Latin name's, its city's and address's."""

    names: list[NameKey]
    city: str
    akey: str

    @classmethod
    def of(cls, values: dict[str, Any]) -> Probe:
        address = values.get("address", "")
        places = places_of(address)
        names = [name_parts(values["name"], places)]
        if values.get("name_latin"):
            names.append(name_parts(values["name_latin"], places))
        return cls(names, city_key(values.get("city", "")), address_key(address))


def _append(table: dict[str, int | list[int]], key: str, position: int) -> None:
    entries = table.get(key)
    if entries is None:
        table[key] = position
    elif isinstance(entries, int):
        if entries != position:
            table[key] = [entries, position]
    elif entries[-1] != position:
        entries.append(position)


def _positions(entries: int | list[int] | None) -> list[int]:
    if entries is None:
        return []
    return [entries] if isinstance(entries, int) else entries


@dataclass
class CountryIndex:
    """One country's factories, compactly: every name once in parallel lists (a factory with
    a Latin-script name too appears twice), looked up by its keys, sounds and blocks."""

    names: list[NameKey] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    # Machine integers, not Python ones.
    ids: array[int] = field(default_factory=lambda: array("q"))
    # Positions by the name's keys (distinctive name, with and without place), by its
    # sound, and by blocks for fuzzy candidates. Most keys hold one position, kept bare.
    keys: dict[str, int | list[int]] = field(default_factory=dict)
    sounds: dict[str, int | list[int]] = field(default_factory=dict)
    blocks: dict[str, int | list[int]] = field(default_factory=dict)
    finer: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # Which fields each factory still lacks (a handful of distinct sets, shared).
    blanks: dict[int, frozenset[str]] = field(default_factory=dict)

    def add(self, key: NameKey, city: str, akey: str, factory_id: int) -> None:
        position = len(self.ids)
        self.names.append(key)
        self.cities.append(city)
        self.addresses.append(akey)
        self.ids.append(factory_id)
        for text in {key.core, key.full, without_city(key.core, city)}:
            if text:
                _append(self.keys, text, position)
        sound = skeleton(key.core)
        if sound and not key.weak:
            _append(self.sounds, sound, position)
        for block in block_keys(key):
            _append(self.blocks, block, position)

    def add_factory(self, factory_id: int, name: str, latin: str, akey: str, city: str) -> None:
        """A factory by its stored keys (``normalise.match_keys``) and its city."""
        key, latin_key = NameKey.decode(name), NameKey.decode(latin) if latin else None
        city = city_key(city)
        if key is not None:
            self.add(key, city, akey, factory_id)
        if latin_key is not None and latin_key != key:
            self.add(latin_key, city, akey, factory_id)

    def candidates(self, block: str, text: str) -> list[int]:
        """The block's positions; for an oversized one, those sharing a longer prefix."""
        entries = _positions(self.blocks.get(block))
        if len(entries) <= MAX_BLOCK:
            return entries
        finer = self.finer.get(block)
        if finer is None:
            finer = self.finer[block] = {}
            for position in entries:
                for start in {self.names[position].core, self.names[position].text}:
                    finer.setdefault(start[:_FINE_PREFIX], []).append(position)
        return finer.get(text[:_FINE_PREFIX], [])


def block_keys(key: NameKey) -> dict[str, str]:
    """Cheap buckets for fuzzy candidates, each with the text its prefix came from: the
    start of the distinctive name and of the whole name, within the name's digits, which
    must match exactly."""
    digits = ",".join(_DIGITS.findall(key.core))
    found: dict[str, str] = {}
    for text in (key.core, key.text):
        if text:
            found.setdefault(f"{digits}|{text[:3]}", text)
    return found


@dataclass(slots=True)
class Match:
    factory_id: int | None = None
    candidate_id: int | None = None
    score: int | None = None
    how: str = ""


def find(index: CountryIndex, probe: Probe, rejected: Set[int] = frozenset()) -> Match:
    """The factory of ``index`` that ``probe`` is certainly, or the likeliest possible one."""
    certain: list[int] = []
    best = Match()
    seen: set[int] = set()

    def consider(row: NameKey, position: int, similarity: int) -> None:
        nonlocal best
        factory_id = index.ids[position]
        if factory_id in rejected:
            return
        entry = index.names[position]
        if _DIGITS.findall(row.core) != _DIGITS.findall(entry.core):
            return  # "Mill 12" and "Mill 15" are two factories, however alike
        is_certain, score = judge(
            row,
            probe.city,
            probe.akey,
            entry,
            index.cities[position],
            index.addresses[position],
            similarity=similarity,
        )
        if is_certain:
            if factory_id not in certain:
                certain.append(factory_id)
        elif score >= PROPOSE_CUTOFF and (best.score is None or score > best.score):
            best = Match(candidate_id=factory_id, score=score, how="possible")

    city = probe.city
    for row in probe.names:
        texts = {row.core, row.full, without_city(row.core, city), without_city(row.full, city)}
        if len(city) >= 4:
            texts.add(city + row.core)
        for text in texts:
            for position in _positions(index.keys.get(text)):
                seen.add(position)
                consider(row, position, 100)
    if len(certain) == 1:
        return Match(factory_id=certain[0], how="name")
    if certain:  # two factories fit: a person decides
        return Match(candidate_id=certain[0], score=90, how="possible")
    if best.score is not None and best.score >= 90:
        return best
    for row in probe.names:
        if row.weak or not row.core:
            continue
        # The same consonants: a possible match; with fewer than three, only if the names
        # are alike besides ("mhmwd", the Urdu, and "Mahmood").
        sound = skeleton(row.core)
        for position in _positions(index.sounds.get(sound)) if sound else ():
            if position not in seen:
                similarity = round(fuzz.ratio(row.core, index.names[position].core))
                if len(sound) >= 3 or similarity >= SHORT_SOUND_CUTOFF:
                    seen.add(position)
                    consider(row, position, min(99, max(NAME_CUTOFF, similarity)))
        for block, text in block_keys(row).items():
            positions = [p for p in index.candidates(block, text) if p not in seen]
            if not positions:
                continue
            for compared, choices in (
                (row.core, [index.names[p].core for p in positions]),
                (row.text, [index.names[p].text for p in positions]),
            ):
                for _choice, ratio, found in process.extract(
                    compared,
                    choices,
                    scorer=fuzz.ratio,
                    score_cutoff=NAME_CUTOFF,
                    limit=5 + len(rejected),
                ):
                    position = positions[found]
                    if position not in seen:
                        seen.add(position)
                        consider(row, position, min(99, round(ratio)))
    return best


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
            .values_list("id", *MATCH_FIELDS, "name", "name_latin", "address", "city", "blank_mask")
        )
        for factory_id, name, latin, akey, source, *texts, city, mask in rows.iterator(5000):
            blanks = blank_sets.get(mask)
            if blanks is None:
                blanks = blank_sets[mask] = frozenset(
                    f for bit, f in enumerate(names) if mask & (1 << bit)
                )
            index.blanks[factory_id] = blanks
            if source is None or source != keys_source(*texts) or "|" not in name:
                name, latin, akey = match_keys(*texts)
            index.add_factory(factory_id, name, latin, akey, city)
        # The names of records merged into a factory (suppliers.merging) find it too.
        aliases = FactoryAlias.objects.filter(factory__country=code, kind=FactoryAlias.Kind.NAME)
        for factory_id, alias, address, city in aliases.values_list(
            "factory_id", "value", "factory__address", "factory__city"
        ):
            name, latin, akey = match_keys(alias, "", address)
            index.add_factory(factory_id, name, latin, akey, city)
        return index

    def load_os_ids(self, os_ids: set[str]) -> None:
        """OS IDs are global: look up a batch's unseen ones in one query."""
        missing = [o for o in os_ids if o not in self.os_ids]
        if missing:
            # The exclude lets PostgreSQL use the partial index on os_id whatever the ids.
            found = dict(
                Factory.objects.filter(os_id__any_of=missing)
                .exclude(os_id="")
                .order_by()
                .values_list("os_id", "id")
            )
            unknown = [o for o in missing if o not in found]
            if unknown:  # the OS ID of a record merged into a factory (suppliers.merging)
                found.update(
                    FactoryAlias.objects.filter(kind=FactoryAlias.Kind.OS_ID, value__any_of=unknown)
                    .order_by()
                    .values_list("value", "factory_id")
                )
            for os_id in missing:
                self.os_ids[os_id] = found.get(os_id, 0)

    def blanks(self, country: str, factory_id: int) -> frozenset[str] | None:
        """The fields an existing factory lacks (None if it is in another country)."""
        return self.country(country).blanks.get(factory_id)

    def match(self, values: dict[str, Any], key: str, *, probe: Probe | None = None) -> Match:
        """The factory a row means (``probe``: its keys, when the caller has them already;
        the import computes them once per row)."""
        index = self.country(values["country"])
        os_id = values.get("os_id")
        if os_id and self.os_ids.get(os_id):
            return Match(factory_id=self.os_ids[os_id], how="os_id")
        decided = self.decisions.get(key)
        if decided:
            for factory_id, is_same in decided.items():
                if is_same:
                    return Match(factory_id=factory_id, how="decision")
        if probe is None:
            probe = Probe.of(values)
        return find(index, probe, rejected=set(decided or ()))
