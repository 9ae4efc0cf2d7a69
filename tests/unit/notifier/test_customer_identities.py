"""The notifier follows the router's corrections of a customer's identities: a removed email is no longer used."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.events.catalogue import CustomerIdentityLinked, CustomerIdentityRemoved, CustomerRegistered, Identity
from tests.unit.notifier.conftest import Notifier


async def email_of(notifier: Notifier, customer_id: uuid.UUID) -> str | None:
    response = await notifier.client.get(f"/v1/customers/{customer_id}/preferences")
    assert response.status_code == 200, response.text
    email: str | None = response.json()["email"]
    return email


async def test_a_removed_email_is_no_longer_the_address_written_to(notifier: Notifier) -> None:
    customer_id, now = uuid.uuid4(), datetime.now(UTC)
    wrong = Identity(kind="email", value="someone.else@example.com")
    await notifier.publish(
        CustomerRegistered(customer_id=customer_id, display_name="Ada", identities=[wrong], registered_at=now)
    )
    assert await email_of(notifier, customer_id) == "someone.else@example.com"

    await notifier.publish(
        CustomerIdentityRemoved(customer_id=customer_id, identity=wrong, actor="supervisor:1", removed_at=now)
    )
    assert await email_of(notifier, customer_id) is None

    right = Identity(kind="email", value="ada@example.com")
    await notifier.publish(CustomerIdentityLinked(customer_id=customer_id, identity=right, linked_at=now))
    assert await email_of(notifier, customer_id) == "ada@example.com"


async def test_removing_another_identity_keeps_the_address(notifier: Notifier) -> None:
    customer_id, now = uuid.uuid4(), datetime.now(UTC)
    email = Identity(kind="email", value="ada@example.com")
    await notifier.publish(
        CustomerRegistered(customer_id=customer_id, display_name="Ada", identities=[email], registered_at=now)
    )
    for removed in (Identity(kind="phone", value="+442071838750"), Identity(kind="email", value="old@example.com")):
        await notifier.publish(
            CustomerIdentityRemoved(customer_id=customer_id, identity=removed, actor="supervisor:1", removed_at=now)
        )
    assert await email_of(notifier, customer_id) == "ada@example.com"
