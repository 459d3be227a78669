"""Redis as an accelerator, never a single point of failure.

``RedisCache`` is Django's Redis cache backend that never raises into a request: a call that
fails (Redis stopped, frozen, out of memory, refusing writes) is answered by a local cache
in this process instead, and for ``fallback_seconds`` after that failure Redis is not asked
at all (a circuit breaker), so a frozen Redis costs a process one socket timeout per period,
not one per call. Once Redis answers again the local cache is emptied and forgotten.

What that means for each user of the cache while Redis is away (README, "When Redis is
down"): rate limits (allauth's sign-in limits, the certificate check) still count, but per
process, so the limit of one address or account is at most the number of web processes
times the configured one (fail safe: never unlimited, never locked out by the outage); a
supplier import's progress bar stands still until the import ends. Sessions do not use the
cache at all (settings.SESSION_ENGINE): a cached session that a Redis coming back still held
would undo a sign-out made while it was away.

``CircuitBreaker`` is the same "skip Redis for a while after a failure" for publishing tasks
(score_portal.jobs.publish).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Entries the local stand-in holds at most (per process); the oldest go first.
FALLBACK_MAX_ENTRIES = 10_000


class CircuitBreaker:
    """Per process, per name (a Redis URL): after a failure, ``is_open`` for ``seconds``."""

    def __init__(self) -> None:
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_open(self, name: str) -> bool:
        until = self._open_until.get(name)
        return until is not None and time.monotonic() < until

    def was_tripped(self, name: str) -> bool:
        """Whether ``name`` failed and has not been closed since (open or due for a retry)."""
        return name in self._open_until

    def trip(self, name: str, seconds: float) -> bool:
        """Open the breaker for ``seconds``; True if it was closed (log the outage once)."""
        with self._lock:
            first = name not in self._open_until
            self._open_until[name] = time.monotonic() + seconds
        return first

    def close(self, name: str) -> bool:
        """Redis answered: True if it had been tripped (log the recovery once)."""
        with self._lock:
            return self._open_until.pop(name, None) is not None

    def retry_now(self) -> None:
        """Let every open breaker try Redis at its next call, as when its time is up."""
        with self._lock:
            for name in self._open_until:
                self._open_until[name] = 0.0

    def reset(self) -> None:
        with self._lock:
            self._open_until.clear()


breaker = CircuitBreaker()


class RedisCache(DjangoRedisCache):
    """Django's Redis cache that falls back to a per-process local cache when Redis fails.

    OPTIONS: ``fallback_seconds`` (how long Redis is skipped after a failure, default 10);
    the rest go to redis-py's connection pool as for Django's backend (set
    ``socket_connect_timeout`` and ``socket_timeout``: without them a frozen Redis holds a
    request for minutes). redis-py retries nothing unless told to (``retry``), so a failed
    call costs one timeout.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        self.fallback_seconds = float(options.pop("fallback_seconds", 10))
        super().__init__(server, {**params, "OPTIONS": options})
        self._breaker_name = server
        # Same key prefix, version and key function as Redis, so two tests (or two sites)
        # with different prefixes keep apart in the stand-in too. Shared by every thread of
        # the process (LocMemCache keeps its entries per name).
        self.fallback = LocMemCache(
            f"score-redis-fallback:{self._breaker_name}",
            {
                key: value
                for key, value in params.items()
                if key in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")
            }
            | {"OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES}},
        )

    @property
    def redis_available(self) -> bool:
        """False while the breaker is open (Redis failed less than fallback_seconds ago)."""
        return not breaker.is_open(self._breaker_name)

    def _either(self, on_redis: Callable[[], T], on_fallback: Callable[[], T]) -> T:
        name = self._breaker_name
        if breaker.is_open(name):
            return on_fallback()
        try:
            result = on_redis()
        except RedisError as error:
            if breaker.trip(name, self.fallback_seconds):
                logger.warning(
                    "Redis cache %s failed (%s: %s): this process uses a local cache and "
                    "tries Redis again every %s s",
                    name,
                    type(error).__name__,
                    error,
                    self.fallback_seconds,
                )
            return on_fallback()
        if breaker.was_tripped(name) and breaker.close(name):
            logger.warning("Redis cache %s answers again: the local cache is dropped", name)
            self.fallback.clear()
        return result

    # Every public call of Django's cache API goes through ``_either``; the rest of the API
    # (get_or_set, decr, the async variants, incr_version) is built on these.

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._either(
            lambda: super(RedisCache, self).add(key, value, timeout, version),
            lambda: self.fallback.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._either(
            lambda: super(RedisCache, self).get(key, default, version),
            lambda: self.fallback.get(key, default, version),
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._either(
            lambda: super(RedisCache, self).set(key, value, timeout, version),
            lambda: self.fallback.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._either(
            lambda: super(RedisCache, self).touch(key, timeout, version),
            lambda: self.fallback.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._either(
            lambda: super(RedisCache, self).delete(key, version),
            lambda: self.fallback.delete(key, version),
        )

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        keys = list(keys)
        return self._either(
            lambda: super(RedisCache, self).get_many(keys, version),
            lambda: self.fallback.get_many(keys, version),
        )

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._either(
            lambda: super(RedisCache, self).has_key(key, version),
            lambda: self.fallback.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        # A missing key still raises ValueError, from either cache, as Django documents.
        return self._either(
            lambda: super(RedisCache, self).incr(key, delta, version),
            lambda: self.fallback.incr(key, delta, version),
        )

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._either(
            lambda: super(RedisCache, self).set_many(data, timeout, version),
            lambda: self.fallback.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        keys = list(keys)
        self._either(
            lambda: super(RedisCache, self).delete_many(keys, version),
            lambda: self.fallback.delete_many(keys, version),
        )

    def clear(self) -> None:
        self.fallback.clear()
        self._either(super().clear, lambda: None)
