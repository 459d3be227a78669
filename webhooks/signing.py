"""The signature a receiver checks: HMAC-SHA256, with the subscription's secret, over
``"<timestamp>.<body>"``, sent as ``X-Score-Signature: t=<timestamp>,v1=<hex>``.

The timestamp (Unix seconds) is signed with the body, so a receiver that refuses a
timestamp older than a few minutes cannot be fed a captured delivery again later.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Score-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, value: str, body: bytes, *, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver does (the README shows it): parse the header, refuse an old
    timestamp, compare the signature in constant time."""
    parts = dict(item.split("=", 1) for item in value.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
