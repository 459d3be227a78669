"""The fixed-window limiter behind the API's per-key limits and the verification page."""

from __future__ import annotations

import time_machine

from score_portal import ratelimit

# 12:00:40 UTC: twenty seconds left in the minute's window.
AT = 1_800_000_040.0


def test_a_bucket_allows_its_limit_then_refuses_until_the_window_ends():
    with time_machine.travel(AT, tick=False):
        assert [ratelimit.hit("t:a", limit=3).allowed for _ in range(4)] == [
            True,
            True,
            True,
            False,
        ]
        refused = ratelimit.hit("t:a", limit=3)
        assert not refused.allowed and refused.retry_after == 21
        assert ratelimit.hit("t:b", limit=3).allowed  # another client: its own count
    with time_machine.travel(AT + 20, tick=False):  # the next window
        assert ratelimit.hit("t:a", limit=3).allowed


def test_with_the_cache_down_requests_pass(monkeypatch):
    class DownCache:
        def add(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        incr = add

    monkeypatch.setattr("score_portal.ratelimit.cache", DownCache())
    assert ratelimit.hit("t:c", limit=0).allowed
