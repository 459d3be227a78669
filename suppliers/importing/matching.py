"""Find the factory a row means: OS ID, then the exact normalised key, then fuzzy candidates.

An index is built per import and per country on first use (one query each), so memory
follows the countries in the file, not the size of the whole factory table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from suppliers.importing.normalise import address_key, name_words
from suppliers.models import BrandSupplier, Factory, SupplierMatchDecision

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


@dataclass(slots=True)
class Known:
    """What matching needs to know about an existing factory."""

    id: int
    name: str
    address: str
    blanks: frozenset[str]


@dataclass
class CountryIndex:
    by_key: dict[tuple[str, str], int] = field(default_factory=dict)
    blocks: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    known: dict[int, Known] = field(default_factory=dict)


def block_keys(words: list[str]) -> set[str]:
    """Cheap buckets for fuzzy candidates: the name's start, and its start after the first
    word (which is often a city: "Dongguan Huamei" vs "Huamei")."""
    keys = {"".join(words)[:3]}
    if len(words) > 1:
        keys.add("".join(words[1:])[:3])
    return {k for k in keys if k}


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
        index = CountryIndex()
        columns = ("id", "name", "address", *FILLABLE, "workers_total")
        for values in Factory.objects.filter(country=code).values_list(*columns).iterator(5000):
            row = dict(zip(columns, values, strict=True))
            blanks = frozenset(f for f in (*FILLABLE, "workers_total") if row[f] in ("", None))
            known = Known(row["id"], row["name"], row["address"], blanks)
            index.known[known.id] = known
            akey = address_key(row["address"])
            for name in {row["name"], row["name_latin"]} - {""}:
                words = name_words(name)
                nkey = "".join(words)
                index.by_key.setdefault((nkey, akey), known.id)
                for block in block_keys(words):
                    index.blocks.setdefault(block, []).append((nkey, akey, known.id))
        return index

    def load_os_ids(self, os_ids: set[str]) -> None:
        """OS IDs are global: look up a batch's unseen ones in one query."""
        missing = [o for o in os_ids if o not in self.os_ids]
        if missing:
            found = dict(Factory.objects.filter(os_id__in=missing).values_list("os_id", "id"))
            for os_id in missing:
                self.os_ids[os_id] = found.get(os_id, 0)

    def known(self, country: str, factory_id: int) -> Known | None:
        return self.country(country).known.get(factory_id)

    def match(self, values: dict[str, Any], key: str) -> Match:
        country = values["country"]
        index = self.country(country)
        os_id = values.get("os_id")
        if os_id and self.os_ids.get(os_id):
            return Match(factory_id=self.os_ids[os_id], how="os_id")
        words = name_words(values["name"])
        nkey, akey = "".join(words), address_key(values["address"])
        found = index.by_key.get((nkey, akey))
        if found is None and values.get("name_latin"):
            found = index.by_key.get(("".join(name_words(values["name_latin"])), akey))
        if found is not None:
            return Match(factory_id=found, how="exact")
        decided = self.decisions.get(key, {})
        for factory_id, is_same in decided.items():
            if is_same:
                return Match(factory_id=factory_id, how="decision")
        return self._fuzzy(index, words, nkey, akey, rejected=set(decided))

    def _fuzzy(
        self, index: CountryIndex, words: list[str], nkey: str, akey: str, rejected: set[int]
    ) -> Match:
        seen: set[int] = set()
        choices: list[tuple[str, str, int]] = []
        for block in block_keys(words):
            for entry in index.blocks.get(block, ()):
                if entry[2] not in seen and entry[2] not in rejected:
                    seen.add(entry[2])
                    choices.append(entry)
        if not choices or not nkey:
            return Match()
        best: Match = Match()
        for _choice, name_score, position in process.extract(
            nkey, [c[0] for c in choices], scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF, limit=5
        ):
            candidate_nkey, candidate_akey, factory_id = choices[position]
            if _DIGITS.findall(candidate_nkey) != _DIGITS.findall(nkey):
                continue  # "Mill 12" and "Mill 15" are two factories, however alike
            address_score = fuzz.token_set_ratio(akey, candidate_akey) if akey else 0
            if address_score < ADDRESS_CUTOFF:
                continue
            score = round(0.7 * name_score + 0.3 * address_score)
            if best.score is None or score > best.score:
                best = Match(candidate_id=factory_id, score=score, how="fuzzy")
        return best
