"""Personal fields of events sealed with their customer's key, so that erasing the key erases them on Kafka.

An event outlives a customer's erasure on its topic (up to 30 days, docs/router.md). The router seals the
personal fields of each event about a customer with that customer's 256-bit data key (AES-256-GCM) when it
writes the outbox row; consumers open them before validation. Erasure deletes the key, and every copy of
those fields (topics, dead-letter topics, backups) becomes ciphertext nobody can open: decision 0031.

A sealed value is `fcs1:` + base64(nonce | ciphertext and tag) of the field's JSON, so any JSON value (a
string, a list of identities, a dict of attributes) seals into a string. The customer id and the field name
are the associated data: a value moved to another field or pasted into another customer's event does not
open. Data keys are stored only wrapped (AES-GCM) under a key-encryption key that HKDF derives from
FIRSTCALL_SECRET_KEY.

A list whose items are different customers' words (a problem event's `representative_reports`) seals each
item with its own author's key: `fcs2:<customer id>:` + base64(nonce | ciphertext and tag), the item naming
its customer (a random UUID, nothing personal) because the event has no single `customer_id`. Erasing one
author makes their item unreadable; the others still open. A text field taken from one of several customers
(a problem's `summary_text`, the first voice of a feedback cluster) is sealed the same way as a whole value
(`seal_text`), so it names its author; once that author is erased a consumer reads ERASED_TEXT instead.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.events.catalogue import (
    AccountOwnerChanged,
    ApprovalDecided,
    CreditIssued,
    CustomerIdentityLinked,
    CustomerIdentityRemoved,
    CustomerRegistered,
    CustomersMerged,
    CustomersUnmerged,
    Event,
    FeedbackReceived,
    RefundIssued,
    ReplacementAuthorized,
    ReturnAuthorized,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    TicketTransferred,
    TicketUpdated,
)

PREFIX = "fcs1:"
ITEM_PREFIX = "fcs2:"
ERASED_TEXT = "[erased]"  # a sealed text whose author was erased, as consumers read it (shared/redaction.ERASED)
SHOWN_SEALED = "<sealed>"  # how the ops CLI shows a sealed field: its words are for the consumers only
KEY_BYTES = 32
NONCE_BYTES = 12
# A distinct HKDF label per use of the secret key: the key-encryption key is never the key that signs.
_KEK_INFO = b"firstcall customer data keys v1"
_WRAP_LABEL = b"firstcall data key "

# Which fields of the events the router publishes about a customer hold that customer's words or
# identities (docs/router.md, *Events already on Kafka*). Generated texts (routing reasons, rules) and ids
# stay in clear: consumers and operators read them without any key.
_PERSONAL: dict[type[Event], tuple[str, ...]] = {
    TicketOpened: ("customer_name", "subject", "description", "attributes"),
    TicketUpdated: ("subject", "description"),
    TicketTransferred: ("note",),
    TicketResolved: ("resolution_note",),
    TicketReopened: ("reason",),
    TicketStatusChanged: ("reason",),
    FeedbackReceived: ("customer_name", "subject", "description", "acknowledgement"),
    CustomerRegistered: ("display_name", "identities"),
    CustomerIdentityLinked: ("identity",),
    CustomerIdentityRemoved: ("identity", "reason"),
    CustomersMerged: ("reason",),
    CustomersUnmerged: ("reason",),
    AccountOwnerChanged: ("briefing", "open_items", "recent"),
    CreditIssued: ("reason",),
    RefundIssued: ("reason",),
    ReturnAuthorized: ("reason",),
    ReplacementAuthorized: ("reason",),
    ApprovalDecided: ("note",),
}
PERSONAL_FIELDS: Mapping[str, tuple[str, ...]] = {cls.cloudevent_type(): fields for cls, fields in _PERSONAL.items()}


class SealError(ValueError):
    """A sealed value that does not open with this key, customer and field: tampered, moved or malformed."""


def new_data_key() -> bytes:
    """A fresh customer data key (256 bits from the operating system's generator)."""
    return AESGCM.generate_key(bit_length=256)


def key_encryption_key(secret: str) -> bytes:
    """The key that wraps data keys, derived from the service's secret key (never stored)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_KEK_INFO).derive(secret.encode())


def wrap_key(kek: bytes, data_key: bytes, customer_id: str) -> bytes:
    """The data key encrypted under the key-encryption key, bound to its customer: 60 bytes to store."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _WRAP_LABEL + customer_id.encode())


def unwrap_key(kek: bytes, wrapped: bytes, customer_id: str) -> bytes:
    """The data key back from its wrapped form; SealError if it was not wrapped for this customer."""
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _WRAP_LABEL + customer_id.encode())
    except InvalidTag as exc:
        raise SealError(f"the data key of customer {customer_id} does not unwrap") from exc


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal_value(key: bytes, customer_id: str, field: str, value: Any) -> str:
    """One field's JSON value sealed for this customer and field."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, orjson.dumps(value), _associated(customer_id, field))
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def open_value(key: bytes, customer_id: str, field: str, sealed: str) -> Any:
    """The JSON value a sealed string holds; SealError if it was not sealed with this key, customer and field."""
    try:
        raw = base64.b64decode(sealed.removeprefix(PREFIX), validate=True)
        opened = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(customer_id, field))
        return orjson.loads(opened)
    except (binascii.Error, InvalidTag, ValueError) as exc:
        raise SealError(f"field {field!r} does not open for customer {customer_id}") from exc


def personal_fields(event_type: str) -> tuple[str, ...]:
    return PERSONAL_FIELDS.get(event_type, ())


def to_seal(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The customer whose key seals this event's data, or None if it has nothing to seal."""
    fields = personal_fields(event_type)
    customer_id = data.get("customer_id")
    if not fields or not isinstance(customer_id, str):
        return None
    return customer_id if any(data.get(name) not in (None, "", [], {}) for name in fields) else None


def seal_data(event_type: str, data: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """The event's data with its personal fields sealed (empty ones left as they are: they say nothing)."""
    customer_id = str(data["customer_id"])
    sealed = dict(data)
    for name in personal_fields(event_type):
        value = data.get(name)
        if value not in (None, "", [], {}) and not is_sealed(value):
            sealed[name] = seal_value(key, customer_id, name, value)
    return sealed


def sealed_fields(data: Mapping[str, Any]) -> list[str]:
    """The fields of an event's data that are sealed."""
    return [name for name, value in data.items() if is_sealed(value)]


def open_data(data: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """The event's data with every sealed field opened; SealError if one does not open."""
    customer_id = str(data.get("customer_id"))
    return {name: open_value(key, customer_id, name, v) if is_sealed(v) else v for name, v in data.items()}


def shown_sealed(data: Any) -> Any:
    """The data as an operator may see it: each sealed field or item a marker, not a run of base64."""
    if not isinstance(data, dict):
        return data
    return {
        name: SHOWN_SEALED if is_sealed(value) or is_sealed_item(value) else _shown_items(value)
        for name, value in data.items()
    }


def _shown_items(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [SHOWN_SEALED if is_sealed_item(item) else item for item in value]


def is_sealed_item(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ITEM_PREFIX)


def seal_item(key: bytes, customer_id: str, field: str, text: str) -> str:
    """One item of a list field, sealed for the customer who wrote it: it names them, so it opens alone."""
    author = str(uuid.UUID(customer_id))
    body = seal_value(key, author, _item_label(field), text).removeprefix(PREFIX)
    return f"{ITEM_PREFIX}{author}:{body}"


def item_author(sealed: str) -> str:
    """The customer whose key opens a sealed item; SealError if it names none."""
    return _split_item(sealed)[0]


def _split_item(sealed: str) -> tuple[str, str]:
    author, separator, body = sealed.removeprefix(ITEM_PREFIX).partition(":")
    try:
        if separator:
            return str(uuid.UUID(author)), body
    except ValueError:
        pass
    raise SealError("a sealed item that names no customer")


def open_item(key: bytes, field: str, sealed: str) -> str:
    """The text a sealed item holds; SealError if this key, its customer and the field do not open it."""
    author, body = _split_item(sealed)
    text = open_value(key, author, _item_label(field), PREFIX + body)
    if not isinstance(text, str):
        raise SealError(f"an item of {field!r} sealed for customer {author} holds no text")
    return text


def seal_text(key: bytes, customer_id: str, field: str, text: str) -> str:
    """A whole text field sealed for the one customer who wrote it, naming them (`fcs2:`), in an event that
    has no single customer; it opens neither as an item of a list nor as an `fcs1` field."""
    author = str(uuid.UUID(customer_id))
    body = seal_value(key, author, _text_label(field), text).removeprefix(PREFIX)
    return f"{ITEM_PREFIX}{author}:{body}"


def open_text(key: bytes, field: str, sealed: str) -> str:
    """The text a sealed text field holds; SealError if this key, its customer and the field do not open it."""
    author, body = _split_item(sealed)
    text = open_value(key, author, _text_label(field), PREFIX + body)
    if not isinstance(text, str):
        raise SealError(f"field {field!r} sealed for customer {author} holds no text")
    return text


def sealed_item_authors(data: Mapping[str, Any]) -> set[str]:
    """The customers who wrote the sealed items of an event's list fields and its sealed text fields;
    SealError for one naming none."""
    return {
        item_author(item)
        for value in data.values()
        for item in (value if isinstance(value, list) else [value])
        if is_sealed_item(item)
    }


def open_items(data: Mapping[str, Any], keys: Mapping[str, bytes | None]) -> dict[str, Any]:
    """The data with each sealed item opened with its author's key, and left out when that key is None
    (the author was erased: their words are gone, the others' stay); a sealed text field is opened, or reads
    ERASED_TEXT once its author is erased. SealError if one does not open."""
    opened = dict(data)
    for name, value in data.items():
        if is_sealed_item(value):
            key = keys[item_author(value)]
            opened[name] = ERASED_TEXT if key is None else open_text(key, name, value)
            continue
        if not isinstance(value, list) or not any(is_sealed_item(item) for item in value):
            continue
        items: list[Any] = []
        for item in value:
            if not is_sealed_item(item):
                items.append(item)
            elif (key := keys[item_author(item)]) is not None:
                items.append(open_item(key, name, item))
        opened[name] = items
    return opened


def _item_label(field: str) -> str:
    # Not a field name any event has: an item's ciphertext never opens as a whole field (fcs1), nor back.
    return f"{field}[]"


def _text_label(field: str) -> str:
    # Neither the field's own name (fcs1) nor an item's label: a sealed text opens only as that text.
    return f"{field}()"


def _associated(customer_id: str, field: str) -> bytes:
    return f"{customer_id}\x00{field}".encode()
