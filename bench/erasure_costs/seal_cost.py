"""What sealing the personal fields of a TicketOpened with a per-customer key costs (AES-256-GCM).

Needs a Python with `cryptography` (not a dependency of firstcall yet): `python bench/erasure_costs/seal_cost.py`.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes  # type: ignore[import-not-found, unused-ignore]
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # type: ignore[import-not-found, unused-ignore]
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # type: ignore[import-not-found, unused-ignore]

CUSTOMER = uuid.uuid4()
DATA: dict[str, Any] = {
    "ticket_id": str(uuid.uuid4()),
    "customer_id": str(CUSTOMER),
    "channel": "phone",
    "subject": "Card payment declined at the checkout",
    "description": (
        "My card was declined at the checkout although I have funds; call me on +44 20 7946 0958. " * 6
    ).strip(),
    "priority": "normal",
    "opened_at": "2026-12-07T15:00:00+00:00",
    "customer_name": "Ada Lovelace",
    "attributes": {"product": "debit-card", "order": "SO-4711"},
    "intent": "card_declined",
    "intent_confidence": 0.91,
}
PERSONAL = ("subject", "description", "customer_name", "attributes")
KEK: bytes = HKDF(hashes.SHA256(), 32, salt=None, info=b"firstcall customer keys v1").derive(os.urandom(48))
DEK: bytes = AESGCM.generate_key(256)
_NONCE = os.urandom(12)
WRAPPED: bytes = _NONCE + AESGCM(KEK).encrypt(_NONCE, DEK, CUSTOMER.bytes)


def seal(data: dict[str, Any]) -> dict[str, Any]:
    aead = AESGCM(DEK)
    out = dict(data)
    for field in PERSONAL:
        nonce = os.urandom(12)
        sealed = aead.encrypt(nonce, json.dumps(data[field]).encode(), CUSTOMER.bytes + field.encode())
        out[field] = "fcs1:" + base64.b64encode(nonce + sealed).decode()
    return out


def unseal(data: dict[str, Any]) -> dict[str, Any]:
    aead = AESGCM(DEK)
    out = dict(data)
    for field in PERSONAL:
        raw = base64.b64decode(data[field][5:])
        out[field] = json.loads(aead.decrypt(raw[:12], raw[12:], CUSTOMER.bytes + field.encode()))
    return out


def unwrap() -> bytes:
    key: bytes = AESGCM(KEK).decrypt(WRAPPED[:12], WRAPPED[12:], CUSTOMER.bytes)
    return key


def microseconds(work: Callable[[], object], n: int = 20_000) -> float:
    """Median over five runs of the time per call."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            work()
        runs.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    sealed = seal(DATA)
    assert unseal(sealed) == DATA
    plain_size, sealed_size = len(json.dumps(DATA)), len(json.dumps(sealed))
    growth = 100 * (sealed_size - plain_size) / plain_size
    print(f"TicketOpened data: {plain_size} B plain, {sealed_size} B sealed (+{growth:.0f}%)")
    print(
        f"seal {microseconds(lambda: seal(DATA)):.1f} us/event, unseal {microseconds(lambda: unseal(sealed)):.1f} us/event"
    )
    print(f"unwrap a customer key {microseconds(unwrap):.1f} us, {len(WRAPPED)} B stored per customer")
    print(f"json.dumps of the event alone: {microseconds(lambda: json.dumps(DATA)):.1f} us")


if __name__ == "__main__":
    main()
