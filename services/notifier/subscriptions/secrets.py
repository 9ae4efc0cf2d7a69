"""Signing secrets that are never stored: a desktop webhook's secret is derived when it is needed.

The notifier issues the secret when the subscription is created (shown once, like an API key) and keeps
only a random nonce: the secret is HMAC-SHA256(FIRSTCALL_SECRET_KEY, "desktop-webhook/v1/<id>/<nonce>").
A copy of the database alone signs nothing; rotating the secret is a new nonce. Ops subscriptions keep the
secret their creator chose, as given (docs/notifier.md, "Not yet").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from services.notifier.subscriptions.models import Subscription

SECRET_PREFIX = "whsec_"


def new_nonce() -> str:
    return secrets.token_hex(16)


def derive_secret(*, service_key: str, subscription_id: uuid.UUID, nonce: str) -> str:
    """The signing secret of a desktop webhook, from the service's secret key and the subscription's nonce."""
    message = f"desktop-webhook/v1/{subscription_id}/{nonce}".encode()
    digest = hmac.new(service_key.encode(), message, hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signing_secret(subscription: Subscription, *, service_key: str) -> str:
    """The secret a delivery to this subscription is signed with."""
    if subscription.secret_nonce is None:
        return subscription.secret
    return derive_secret(service_key=service_key, subscription_id=subscription.id, nonce=subscription.secret_nonce)
