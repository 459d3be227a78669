"""Matching quality: precision of automatic matches and recall of matches or proposals.

    .venv/bin/python bench/match_quality.py [--split tune|holdout] [--verbose]

Reads the labelled pairs in tests/fixtures/matching_pairs.csv (a factory in the portal and a
supplier-list row, in any script; ``same`` or ``different``) and runs each row through the
import's own matching code against that factory (``suppliers.importing.quality``). Prints

    auto-match precision: X
    match-or-propose recall: Y

(precision: of the pairs matched automatically, the share that are one factory; recall: of
the pairs that are one factory, the share matched or proposed)

for the whole set, then the same for each split (``tune``: looked at while the rules were
written; ``holdout``: not). ``--verbose`` lists the wrong matches and the misses. It measures
no time (targets: precision >= 0.99, recall >= 0.95; tests/suppliers/test_match_quality.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "score_portal.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "holdout"])
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()

    import django

    django.setup()
    from suppliers.importing.quality import measure

    figures = measure(split=options.split)
    print(f"auto-match precision: {figures.precision:.3f}")
    print(f"match-or-propose recall: {figures.recall:.3f}")
    print(
        f"({figures.pairs} pairs, {figures.same} of one factory; "
        f"{figures.matched} matched automatically, {figures.found} matched or proposed)"
    )
    if options.split is None:
        for split in ("tune", "holdout"):
            part = measure(split=split)
            print(
                f"{split}: precision {part.precision:.3f}, recall {part.recall:.3f} "
                f"({part.pairs} pairs)"
            )
    if options.verbose:
        for pair in figures.wrong:
            print("wrong match:", pair["a_name"], "<>", pair["b_name"], "#", pair["note"])
        for pair in figures.missed:
            print("missed:", pair["a_name"], "<>", pair["b_name"], "#", pair["note"])


if __name__ == "__main__":
    main()
