"""Fixed-window rate limits in the shared cache: one counter per client and minute.

One ``cache.incr`` a request whatever the limit (a sliding log of timestamps, DRF's
``SimpleRateThrottle``, reads and writes the whole log each request: at an API key's 600
a minute that is a list of 600 floats pickled to Redis and back per request). A fixed
window lets a client send up to twice the limit across a window's edge; the limits are
there against floods, not for billing, and that is the trade every counter-based limiter
(GitHub's API included) makes. If the cache is down, requests pass (fail open): a rate
limit must not take the portal down with Redis.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends (when not allowed)


def hit(bucket: str, *, limit: int, window_seconds: int = 60) -> Verdict:
    """Count one request in ``bucket`` (e.g. ``api:key-read:42``) for the current window."""
    now = time.time()
    window = int(now // window_seconds)
    key = f"ratelimit:{bucket}:{window}"
    try:
        cache.add(key, 0, timeout=window_seconds + 30)
        count = cache.incr(key)
    except Exception:
        logger.warning("Rate-limit cache unavailable: %s passes unchecked", bucket, exc_info=True)
        return Verdict(allowed=True, retry_after=0)
    retry_after = max(1, int((window + 1) * window_seconds - now) + 1)
    return Verdict(allowed=count <= limit, retry_after=retry_after)
