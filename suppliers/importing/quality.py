"""How well matching does on a labelled set of pairs (``tests/fixtures/matching_pairs.csv``).

Each pair is a factory already in the portal (``a_*``) and a supplier-list row (``b_*``) of
one country, labelled ``same`` or ``different``. The row is matched by the import's own code
(``matching.find``) against a registry holding that factory alone: it is matched (certain),
proposed (a possible match), or neither. ``bench/match_quality.py`` prints the figures and
``tests/suppliers/test_match_quality.py`` holds them to their targets.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from suppliers.importing.matching import CountryIndex, Probe, find
from suppliers.importing.normalise import match_keys

PAIRS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "matching_pairs.csv"
FACTORY_ID = 1


@dataclass
class Figures:
    pairs: int = 0
    matched: int = 0  # auto-matched
    matched_right: int = 0  # auto-matched and labelled same
    same: int = 0
    found: int = 0  # labelled same, and matched or proposed
    wrong: list[dict[str, str]] = field(default_factory=list)  # matched, labelled different
    missed: list[dict[str, str]] = field(default_factory=list)  # same, neither

    @property
    def precision(self) -> float:
        """Of the pairs matched automatically, the share that are one factory."""
        return self.matched_right / self.matched if self.matched else 1.0

    @property
    def recall(self) -> float:
        """Of the pairs that are one factory, the share matched or proposed."""
        return self.found / self.same if self.same else 1.0


def outcome(pair: dict[str, str]) -> str:
    """ "matched", "proposed" or "" for one pair."""
    index = CountryIndex()
    name, latin, akey = match_keys(pair["a_name"], pair["a_name_latin"], pair["a_address"])
    index.add_factory(FACTORY_ID, name, latin, akey, pair["a_city"])
    values = {
        "name": pair["b_name"],
        "address": pair["b_address"],
        "city": pair["b_city"],
        "country": pair["country"],
    }
    match = find(index, Probe.of(values))
    if match.factory_id == FACTORY_ID:
        return "matched"
    if match.candidate_id == FACTORY_ID:
        return "proposed"
    return ""


def measure(path: Path = PAIRS, split: str | None = None) -> Figures:
    figures = Figures()
    with path.open(encoding="utf-8", newline="") as source:
        for pair in csv.DictReader(source):
            if split is not None and pair["split"] != split:
                continue
            figures.pairs += 1
            result = outcome(pair)
            same = pair["label"] == "same"
            if result == "matched":
                figures.matched += 1
                if same:
                    figures.matched_right += 1
                else:
                    figures.wrong.append(pair)
            if same:
                figures.same += 1
                if result:
                    figures.found += 1
                else:
                    figures.missed.append(pair)
    return figures
