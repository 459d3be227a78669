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

from suppliers.importing.matching import MatchIndex
from suppliers.importing.normalise import keys_source, match_keys
from suppliers.models import DuplicateCandidate, Factory

logger = logging.getLogger(__name__)


def _pairs_in(country: str) -> dict[tuple[int, int], tuple[int, str]]:
    """(lower id, higher id) -> (score, how) for the country's likely duplicates."""
    matcher = MatchIndex(brand_id=0)
    index = matcher.country(country)
    pairs: dict[tuple[int, int], tuple[int, str]] = {}
    by_key: dict[tuple[str, str], list[int]] = {}
    rows = Factory.objects.filter(country=country).values_list(
        "id",
        "match_name",
        "match_name_latin",
        "match_address",
        "match_source",
        "name",
        "name_latin",
        "address",
    )
    for factory_id, name, latin, akey, source, *texts in rows.iterator(2000):
        if source is None or source != keys_source(*texts):
            name, latin, akey = match_keys(*texts)
        for stored in {name, latin} - {""}:
            words = stored.split()
            nkey = "".join(words)
            by_key.setdefault((nkey, akey), []).append(factory_id)
            # The matcher's fuzzy step, with the factory itself (its names and aliases)
            # rejected, as a brand's "not this one" decision rejects a candidate.
            found = matcher._fuzzy(index, words, nkey, akey, rejected={factory_id})
            if found.candidate_id is not None and found.score is not None:
                pair = (min(factory_id, found.candidate_id), max(factory_id, found.candidate_id))
                if pairs.get(pair, (0, ""))[0] < found.score:
                    pairs[pair] = (found.score, "fuzzy")
    for ids in by_key.values():
        unique = sorted(set(ids))
        for position, first in enumerate(unique):
            for second in unique[position + 1 :]:
                pairs[(first, second)] = (100, "exact")
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
