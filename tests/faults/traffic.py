"""Ticket traffic as a careful contact center sends it: steady, keyed, and retried until answered.

Every write carries an Idempotency-Key and is retried with the same key and body after anything that is not
an answer (a refused or dropped connection, a 5xx, a 429), so every ticket the campaign meant to open is
eventually accepted once, whatever died meanwhile. Each ticket's key is also in its attributes, so the
router's tables say how many tickets each key made.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.factories import ADMIN

RETRY_PAUSE = 0.2
MAX_RETRY_PAUSE = 2.0
RETRYABLE = frozenset({409, 429, 500, 502, 503, 504})
# Two customers send all the steady traffic (and ask for all the credits): whatever the detector groups of it
# never reaches the three distinct customers that make a problem, so the only problems are the staged ones.
STEADY_CUSTOMERS = 2
STEADY_TEXTS = (
    ("Change my delivery address", "I moved last week and need my parcel sent to the new address."),
    ("Invoice copy needed", "Please send me a copy of last month's invoice for my accountant."),
    ("Wrong size delivered", "I ordered a medium jacket and received a small one."),
    ("Loyalty points missing", "The points from my last purchase are not on my account."),
    ("Cancel my subscription", "I would like to end the monthly plan at the end of this period."),
    ("Gift wrapping question", "Can you wrap the order as a present and add a card?"),
)
# One outage per phase, each in words of its own: a phase's reports must find each other, not an earlier
# phase's resolved problem (docs/decisions/0003-fault-campaign.md says why that matters).
OUTAGES = (
    ("Scanner app shows error 7731 on launch", "The scanner app stops with error 7731 when it opens."),
    ("Firmware update leaves the speaker silent", "Since last night's firmware update my speaker makes no sound."),
    ("Two-factor SMS code never arrives", "I request the login code by text message but no SMS comes."),
    ("Smart thermostat lost its wifi pairing", "The thermostat dropped off the home network and will not reconnect."),
    ("Voucher code rejected as expired", "My birthday voucher says expired although it is valid until June."),
    ("Order tracking page shows 404", "Clicking 'track my shipment' gives a page not found error."),
    ("Loyalty card barcode will not scan at the till", "The cashier cannot read the barcode on my loyalty card."),
    ("Dark mode turns text invisible", "With dark mode on, the product descriptions are black on black."),
)


@dataclass(frozen=True)
class Accepted:
    key: str
    status: int
    body: dict[str, Any]
    replayed: bool
    tries: int


class Writer:
    """POSTs that are retried with their Idempotency-Key until a service answers them for good."""

    def __init__(self, deadline_seconds: float = 240, *, keep_alive: bool = True) -> None:
        limits = httpx.Limits() if keep_alive else httpx.Limits(max_keepalive_connections=0)
        self.client = httpx.AsyncClient(headers=ADMIN, timeout=httpx.Timeout(15, connect=3), limits=limits)
        self.deadline_seconds = deadline_seconds
        self.unanswered = 0  # tries that got no answer or a 5xx: what the faults cost the clients

    async def aclose(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, body: dict[str, Any], key: str) -> Accepted:
        deadline = time.monotonic() + self.deadline_seconds
        for tries in itertools.count(1):
            try:
                response = await self.client.post(url, json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                assert response.status_code < 300, f"POST {url} ({key}): {response.status_code} {response.text}"
                replayed = response.headers.get("idempotent-replayed") == "true"
                return Accepted(key, response.status_code, response.json(), replayed, tries)
            self.unanswered += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"POST {url} ({key}) still unanswered after {self.deadline_seconds}s")
            # Backing off, with jitter, as a careful client does: a herd of retries slows a restarting service.
            await asyncio.sleep(min(RETRY_PAUSE * 2 ** min(tries, 5), MAX_RETRY_PAUSE) * random.uniform(0.5, 1))
        raise AssertionError("unreachable")


def ticket_body(key: str, phase: str, customer: str, text: tuple[str, str], channel: str = "web") -> dict[str, Any]:
    subject, description = text
    return {
        "customer": {"external_id": f"crm:{customer}", "name": customer},
        "channel": channel,
        "subject": subject,
        "description": description,
        "priority": "normal",
        "attributes": {"fault_phase": phase, "fault_key": key},
    }


@dataclass
class Tickets:
    """The tickets one phase opened: what was sent, and what the router accepted."""

    writer: Writer
    router: str
    run: str
    phase: str
    sent: set[str] = field(default_factory=set)
    accepted: dict[str, Accepted] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    def steady_customer(self, n: int) -> str:
        return f"{self.run}-steady-{n % STEADY_CUSTOMERS}"

    @property
    def ids(self) -> list[str]:
        return sorted(a.body["id"] for a in self.accepted.values())

    async def open(
        self, customer: str, text: tuple[str, str], channel: str = "web", *, url: str = "", writer: Writer | None = None
    ) -> Accepted:
        key = f"{self.run}-{self.phase}-{next(self._numbers)}"
        self.sent.add(key)
        body = ticket_body(key, self.phase, customer, text, channel)
        accepted = await (writer or self.writer).post(f"{url or self.router}/v1/tickets", body, key)
        self.accepted[key] = accepted
        return accepted

    async def steady(self, per_second: float, stop: asyncio.Event, limit: int = 200) -> None:
        """Open tickets at a steady pace until told to stop; each is retried on its own meanwhile."""
        opening: list[asyncio.Task[Accepted]] = []
        for n in range(limit):
            customer = self.steady_customer(n)
            opening.append(asyncio.create_task(self.open(customer, STEADY_TEXTS[n % len(STEADY_TEXTS)])))
            try:
                await asyncio.wait_for(stop.wait(), 1 / per_second)
                break
            except TimeoutError:
                continue
        await asyncio.gather(*opening)

    async def burst(self, count: int) -> None:
        """`count` tickets at once, so a consumer receives them as one batch."""
        await asyncio.gather(
            *(self.open(self.steady_customer(n), STEADY_TEXTS[n % len(STEADY_TEXTS)]) for n in range(count))
        )
