"""Signed deliveries: HMAC-SHA256 over the timestamp and the body, so receivers can trust and date them.

    X-Firstcall-Timestamp: 1767225600
    X-Firstcall-Signature: v1=<hex hmac_sha256(secret, "1767225600." + body)>

A receiver recomputes the signature over the raw body, compares in constant time, and refuses a
timestamp older than its tolerance (replay protection). `verify_signature` is that check, for receivers
written in Python and for the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Firstcall-Timestamp"
SIGNATURE_HEADER = "X-Firstcall-Signature"
DELIVERY_HEADER = "X-Firstcall-Delivery"
EVENT_HEADER = "X-Firstcall-Event"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(
    secret: str, body: bytes, *, delivery_id: str, event_type: str, now: float | None = None
) -> dict[str, str]:
    """Every header a delivery carries besides the content type."""
    timestamp = int(now if now is not None else time.time())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
    }


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    signature: str,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether a delivery is authentic and fresh (what a receiver should check before trusting it)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)
