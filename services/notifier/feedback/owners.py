"""Who owns a piece of feedback: the team that owns the procedure, product or message it is about.

FIRSTCALL_NOTIFIER_FEEDBACK_OWNERS maps `intent:<intent>`, `product:<product>` and `tag:<tag>` to a team.
The intent is looked at first (it names the procedure the customer is talking about), then the product,
then the tags in their order; feedback none of them names goes to the default owner and is shown as
unowned, so nobody mistakes "somebody's inbox" for "somebody decided to own this".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PREFIXES = ("intent", "product", "tag")


@dataclass(frozen=True)
class Ownership:
    owner: str
    unowned: bool
    mapping: str | None  # the key that named the owner, e.g. `intent:procedure_feedback`


def owner_of(
    *,
    intent: str | None,
    product: str | None,
    tags: Sequence[str],
    owners: Mapping[str, str],
    default_owner: str,
) -> Ownership:
    """The owner of feedback about this intent, product and tags."""
    keys = [f"intent:{intent}" if intent else None, f"product:{product}" if product else None]
    keys += [f"tag:{tag}" for tag in tags]
    for key in keys:
        if key is not None and key in owners:
            return Ownership(owners[key], unowned=False, mapping=key)
    return Ownership(default_owner, unowned=True, mapping=None)


def lead_of(owner: str, *, leads: Mapping[str, str], default_lead: str) -> str:
    """Whom undecided feedback goes to when its owner lets it wait too long."""
    return leads.get(owner, default_lead)


def valid_key(key: str) -> bool:
    """A mapping key is `intent:`, `product:` or `tag:` followed by a name."""
    prefix, _, name = key.partition(":")
    return prefix in PREFIXES and bool(name.strip())
