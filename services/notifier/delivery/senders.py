"""The two ways a delivery leaves: an HTTP POST to a webhook, or an email through the SMTP server.

Each returns an Outcome instead of raising, so the worker records every attempt the same way. Only a
receiver's answer that retrying cannot change (a 4xx other than 408/429) is final; everything else is
retried. The delivery id travels with every copy (a header, the email's Message-ID), so a receiver can
drop the rare duplicate a crash between sending and recording would cause.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx

from services.notifier.subscriptions.signing import signed_headers

RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    final: bool = False  # a failure retrying cannot fix
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None
    password: str | None
    starttls: bool
    timeout: float


async def post_webhook(
    client: httpx.AsyncClient, *, url: str, body: bytes, secret: str, delivery_id: str, event_type: str, timeout: float
) -> Outcome:
    """POST a signed body; 2xx is delivered."""
    headers = {"Content-Type": "application/json", "User-Agent": "firstcall-notifier/1"}
    headers.update(signed_headers(secret, body, delivery_id=delivery_id, event_type=event_type))
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:2000], duration_ms=_since(started))
    elapsed = _since(started)
    if response.is_success:
        return Outcome(True, status_code=response.status_code, duration_ms=elapsed)
    final = 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_STATUSES
    return Outcome(
        False, final=final, status_code=response.status_code, error=response.text[:500] or None, duration_ms=elapsed
    )


def email_message(*, payload: bytes, to: str, sender: str, delivery_id: str) -> EmailMessage:
    """The email for a message payload (JSON with subject and body, and an HTML alternative if it has one)."""
    content = json.loads(payload)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = content["subject"]
    message["Message-ID"] = f"<{delivery_id}@notifier.firstcall>"
    message.set_content(content["body"])
    if content.get("html"):
        message.add_alternative(content["html"], subtype="html")
    return message


async def send_email(message: EmailMessage, config: SmtpConfig) -> Outcome:
    """Hand an email to the SMTP server; any refusal is retried (and recorded)."""
    started = time.perf_counter()
    try:
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            start_tls=config.starttls,
            timeout=config.timeout,
        )
    except aiosmtplib.SMTPResponseException as exc:
        return Outcome(
            False, status_code=exc.code, error=f"SMTP {exc.code}: {exc.message}"[:2000], duration_ms=_since(started)
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:2000], duration_ms=_since(started))
    return Outcome(True, status_code=250, duration_ms=_since(started))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
