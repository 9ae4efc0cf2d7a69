"""Normalising identities, so the same person is recognised however a channel writes them."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_EXTERNAL_ID = re.compile(r"^([A-Za-z0-9_.-]{1,40}):(\S.{0,158})$")


def normalise_email(value: str) -> str:
    """Lower-cased, validated address (no DNS lookups: the hot path must not wait on the network)."""
    try:
        email = validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return email.lower()


def normalise_phone(value: str, default_region: str | None) -> str:
    """E.164 (`+442079460958`); national numbers need the configured default region."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if default_region else " (use the international format, e.g. +44 20 7946 0958)"
        raise ValueError(f"not a phone number{hint}") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_external_id(value: str) -> str:
    """`system:id` with the system lower-cased; ids in other systems are case-sensitive."""
    match = _EXTERNAL_ID.match(value.strip())
    if match is None:
        raise ValueError("expected `system:id`, e.g. `helpdesk:4711`")
    return f"{match.group(1).lower()}:{match.group(2)}"
