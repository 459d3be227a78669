"""The registry's likely duplicates: the import's matcher run across the stored factories,
one country at a time, the pairs kept for the ILO's queue.

Each factory is looked up in its country's match index (``suppliers.importing.matching``,
the one supplier-list imports use) as if it were an uploaded row, itself left out: the same
normalised name and address is a duplicate (score 100), a fuzzy candidate above the
matcher's cut-offs a possible one (its score). A pair someone dismissed ("not the same
factory") stays dismissed; an open pair no longer found is dropped.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from suppliers.importing.matching import MatchIndex, Probe, find
from suppliers.models import DuplicateCandidate, Factory

logger = logging.getLogger(__name__)


def _pairs_in(country: str) -> dict[tuple[int, int], tuple[int, str]]:
    """(lower id, higher id) -> (score, how) for the country's likely duplicates: each
    factory looked up in its country's match index as an uploaded row would be, itself left
    out. A certain match (the matcher would link the row to that factory without asking) is
    scored 100; a possible one keeps the matcher's score."""
    index = MatchIndex(brand_id=0).country(country)
    pairs: dict[tuple[int, int], tuple[int, str]] = {}
    rows = Factory.objects.filter(country=country).values_list(
        "id", "name", "name_latin", "address", "city"
    )
    for factory_id, name, latin, address, city in rows.iterator(2000):
        probe = Probe.of({"name": name, "name_latin": latin, "address": address, "city": city})
        found = find(index, probe, rejected={factory_id})
        other = found.factory_id or found.candidate_id
        if other is None or other == factory_id:
            continue
        score, how = (100, "exact") if found.factory_id else (found.score or 0, "fuzzy")
        pair = (min(factory_id, other), max(factory_id, other))
        if pairs.get(pair, (0, ""))[0] < score:
            pairs[pair] = (score, how)
    return pairs


def find_duplicates(*, country: str | None = None) -> int:
    """Look for duplicates in one country (or every country) and store the pairs; returns
    how many open pairs there are afterwards. Safe to run twice, or two at once: a pair is
    unique, written with an upsert."""
    countries = (
        [country]
        if country
        else list(Factory.objects.order_by().values_list("country", flat=True).distinct())
    )
    for code in countries:
        pairs = _pairs_in(code)
        now = timezone.now()
        with transaction.atomic():
            DuplicateCandidate.objects.bulk_create(
                [
                    DuplicateCandidate(
                        factory_a_id=a,
                        factory_b_id=b,
                        country=code,
                        score=score,
                        how=how,
                        found_at=now,
                    )
                    for (a, b), (score, how) in pairs.items()
                ],
                batch_size=500,
                update_conflicts=True,
                unique_fields=["factory_a", "factory_b"],
                update_fields=["score", "how", "found_at", "country"],
            )
            stale = DuplicateCandidate.objects.filter(
                country=code, status=DuplicateCandidate.Status.OPEN, found_at__lt=now
            )
            # Rows another run found meanwhile have a later found_at and are kept.
            stale.delete()
        logger.info("Duplicate search in %s: %s pairs", code, len(pairs))
    return DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN).count()


def dismiss_candidate(*, candidate: DuplicateCandidate, actor: object) -> DuplicateCandidate:
    """ "Not the same factory": the pair leaves the queue and stays out of it."""
    candidate.status = DuplicateCandidate.Status.DISMISSED
    candidate.decided_by = actor  # type: ignore[assignment]
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate
