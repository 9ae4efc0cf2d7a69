"""Customers are told, personally and once: an acknowledgement saying what is known when their report
joins a problem, the resolution when it is fixed; by email (a real SMTP server) or through the contact
center's webhook; opt-outs and rate limits respected; an SMTP server that refuses is retried, not lost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sql_events
from sqlalchemy import select

from services.notifier.customers import messages, templates
from services.notifier.customers.models import CustomerContact
from services.notifier.delivery import service as delivery_service
from services.notifier.delivery.models import Delivery
from services.notifier.problems import state
from services.notifier.problems.models import Problem
from shared.events.catalogue import CustomerRegistered, Identity
from tests.conftest import wait_until
from tests.notifier_factories import OUTAGE_REPORTS, known_issue, outage, report
from tests.unit.notifier.conftest import Notifier, NotifierFactory, staged_events
from tests.unit.notifier.receivers import Mailbox, smtp_server, webhook_receiver


async def with_emails(notifier: Notifier, reports: list[Any]) -> list[str]:
    """Tell the notifier each report's customer email, as the router's CustomerRegistered would."""
    addresses = []
    for i, event in enumerate(reports):
        address = f"customer{i}@example.com"
        addresses.append(address)
        registered = CustomerRegistered(
            customer_id=event.customer_id,
            display_name=event.customer_name,
            identities=[Identity(kind="email", value=address)],
            registered_at=event.opened_at,
        )
        await notifier.publish(registered)
    return addresses


async def problem_of(notifier: Notifier, ticket_id: uuid.UUID) -> str:
    problem_id: str = (await notifier.client.get(f"/v1/reports/{ticket_id}")).json()["problem_id"]
    return problem_id


async def resolve(notifier: Notifier, problem_id: str, key: str = "resolve-1") -> None:
    body = {"resolution": "The payment provider renewed its certificate.", "fix_version": "2.4.1"}
    response = await notifier.client.post(
        f"/v1/problems/{problem_id}/resolve", json=body, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text


def mail_notifier(make_notifier: NotifierFactory, mailbox: Mailbox, **overrides: Any) -> Any:
    return make_notifier(smtp_port=mailbox.port, **overrides)


async def sent(notifier: Notifier, kind: str, count: int) -> list[dict[str, Any]] | None:
    items = (await notifier.client.get("/v1/notifications", params={"status": "sent", "limit": 500})).json()["items"]
    mine = [item for item in items if item["notification_kind"] == kind]
    return mine if len(mine) >= count else None


async def test_customers_joining_a_known_problem_get_what_is_known_by_email(make_notifier: NotifierFactory) -> None:
    async with smtp_server() as mailbox:
        notifier = await mail_notifier(make_notifier, mailbox)
        first, *rest = outage(4)
        addresses = await with_emails(notifier, [first, *rest])
        await notifier.publish(first, *rest[:2])
        problem_id = await problem_of(notifier, first.ticket_id)
        await notifier.publish(known_issue(uuid.UUID(problem_id)))
        await notifier.publish(rest[2])
        await wait_until(lambda: sent(notifier, "acknowledgement", 4))

        [late] = mailbox.to(addresses[3])
        body = late.get_payload()
        assert late["Subject"] == f"We know about it: {rest[2].subject}"
        assert "Hello Customer 4" in body
        assert "Pay with PayPal until the fix ships." in body
        assert "version 2.4.1" in body
        assert "3 other customers" in body
        assert len(mailbox.messages) == 4


async def test_every_affected_customer_is_told_of_the_resolution_exactly_once(make_notifier: NotifierFactory) -> None:
    async with smtp_server() as mailbox:
        notifier = await mail_notifier(make_notifier, mailbox)
        reports = outage(5)
        addresses = await with_emails(notifier, reports)
        await notifier.publish(*reports)
        problem_id = await problem_of(notifier, reports[0].ticket_id)

        await resolve(notifier, problem_id)
        await resolve(notifier, problem_id)  # a client retry: replayed, nothing new
        await wait_until(lambda: sent(notifier, "resolution", 5))

        for address, event in zip(addresses, reports, strict=True):
            [resolution] = [m for m in mailbox.to(address) if m["Subject"].startswith("Resolved")]
            assert f'you reported "{event.subject}"' in resolution.get_payload()
            assert "renewed its certificate" in resolution.get_payload()
        told = await staged_events(notifier, "notification.customer_notified")
        resolutions = [e for e in told if e["kind"] == "resolution"]
        assert sorted(e["customer_id"] for e in resolutions) == sorted(str(r.customer_id) for r in reports)


async def test_a_restart_between_resolving_and_sending_tells_each_customer_once(
    make_notifier: NotifierFactory,
) -> None:
    async with smtp_server() as mailbox:
        mailbox.refuse_next = 10**6  # nothing goes out before the restart
        notifier = await mail_notifier(make_notifier, mailbox, delivery_max_attempts=50)
        reports = outage(3)
        await with_emails(notifier, reports)
        await notifier.publish(*reports)
        await resolve(notifier, await problem_of(notifier, reports[0].ticket_id))
        await notifier.runtime.stop()

        mailbox.refuse_next = 0
        restarted = await mail_notifier(make_notifier, mailbox, delivery_max_attempts=50)
        await wait_until(lambda: sent(restarted, "resolution", 3))
        resolutions = [m for m in mailbox.messages if m["Subject"].startswith("Resolved")]
        assert sorted(m["To"] for m in resolutions) == sorted({m["To"] for m in resolutions})
        assert len(resolutions) == 3


async def test_an_smtp_server_that_refuses_is_retried_and_every_attempt_recorded(
    make_notifier: NotifierFactory,
) -> None:
    async with smtp_server() as mailbox:
        mailbox.refuse_next = 2
        notifier = await mail_notifier(make_notifier, mailbox, delivery_max_attempts=5)
        reports = outage(3)
        await with_emails(notifier, reports[:1])
        await notifier.publish(*reports)
        [ack] = await wait_until(lambda: sent(notifier, "acknowledgement", 1))
        assert [a["outcome"] for a in ack["log"]] == ["failed", "failed", "delivered"]
        assert ack["log"][0]["status_code"] == 451
        assert len(mailbox.messages) == 1


async def deliveries(notifier: Notifier, status: str, kind: str) -> list[dict[str, Any]]:
    items = (await notifier.client.get("/v1/notifications", params={"status": status, "limit": 500})).json()["items"]
    return [item for item in items if item["notification_kind"] == kind]


async def test_a_resolution_waits_for_an_address_that_arrives_after_the_report(make_notifier: NotifierFactory) -> None:
    async with smtp_server() as mailbox:
        notifier = await mail_notifier(make_notifier, mailbox, delivery_max_attempts=200)
        reports = outage(3)
        await notifier.publish(*reports)
        await resolve(notifier, await problem_of(notifier, reports[0].ticket_id))

        async def retried() -> list[dict[str, Any]] | None:
            waiting = await deliveries(notifier, "pending", "resolution")
            return waiting if len(waiting) == 3 and all(d["log"] for d in waiting) else None

        for delivery in await wait_until(retried):
            assert {attempt["outcome"] for attempt in delivery["log"]} == {"unroutable"}
            assert delivery["last_error"].startswith("no channel")
        addresses = await with_emails(notifier, reports)

        await wait_until(lambda: sent(notifier, "resolution", 3))
        resolved = [m["To"] for m in mailbox.messages if m["Subject"].startswith("Resolved")]
        assert sorted(resolved) == sorted(addresses)


async def test_a_customer_who_can_never_be_reached_ends_in_the_dead_letters_after_the_retry_budget(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(delivery_max_attempts=2)
    reports = outage(3)
    await notifier.publish(*reports)
    await resolve(notifier, await problem_of(notifier, reports[0].ticket_id))

    async def dead() -> list[dict[str, Any]] | None:
        found = await deliveries(notifier, "dead", "resolution")
        return found if len(found) == 3 else None

    for delivery in await wait_until(dead):
        assert [attempt["outcome"] for attempt in delivery["log"]] == ["unroutable", "unroutable"]


async def test_customers_without_email_are_told_through_the_contact_center_webhook(notifier: Notifier) -> None:
    async with webhook_receiver() as center:
        await notifier.client.post(
            "/v1/subscriptions",
            json={"url": center.url, "event_types": ["customer.message"], "secret": center.secret},
        )
        reports = outage(3)
        await notifier.publish(*reports)
        messages = await wait_until(lambda: _at_least(center, 3))
    assert {m.json["customer_id"] for m in messages} == {str(r.customer_id) for r in reports}
    assert all(m.json["kind"] == "acknowledgement" and m.signature_ok for m in messages)
    assert {m.json["reply_channel"] for m in messages} == {"email"}


async def _at_least(receiver: Any, count: int) -> list[Any] | None:
    accepted = receiver.accepted()
    return accepted if len(accepted) >= count else None


async def test_a_customer_who_opted_out_is_not_written_to(make_notifier: NotifierFactory) -> None:
    async with smtp_server() as mailbox:
        notifier = await mail_notifier(make_notifier, mailbox)
        reports = outage(3)
        addresses = await with_emails(notifier, reports)
        response = await notifier.client.put(
            f"/v1/customers/{reports[0].customer_id}/preferences", json={"opted_out": True}
        )
        assert response.status_code == 200
        await notifier.publish(*reports)
        await wait_until(lambda: sent(notifier, "acknowledgement", 2))
        suppressed = (await notifier.client.get("/v1/notifications", params={"status": "suppressed"})).json()
        assert [s["customer_id"] for s in suppressed["items"]] == [str(reports[0].customer_id)]
        assert mailbox.to(addresses[0]) == []


async def test_the_rate_limit_skips_acknowledgements_but_only_delays_resolutions(
    make_notifier: NotifierFactory,
) -> None:
    async with smtp_server() as mailbox:
        notifier = await mail_notifier(make_notifier, mailbox, customer_rate_limit_count=1)
        customer = uuid.uuid4()
        first = outage(3)
        second = [r.model_copy(update={"ticket_id": uuid.uuid4()}) for r in outage(3)]
        login = [
            r.model_copy(update={"subject": "Cannot log in", "description": "The app rejects my password."})
            for r in second
        ]
        first[0] = first[0].model_copy(update={"customer_id": customer})
        login[0] = login[0].model_copy(update={"customer_id": customer})
        await with_emails(notifier, [first[0]])
        await notifier.publish(*first)
        await wait_until(lambda: sent(notifier, "acknowledgement", 1))
        await notifier.publish(*login)
        skipped = await wait_until(lambda: _suppressed(notifier))
        assert "rate limit" in skipped[0]["last_error"]

        await resolve(notifier, await problem_of(notifier, first[0].ticket_id))
        [waiting] = await wait_until(lambda: _pending(notifier, "resolution", customer))
        assert waiting["log"][-1]["outcome"] == "deferred"
        assert len(mailbox.to("customer0@example.com")) == 1


async def _suppressed(notifier: Notifier) -> list[dict[str, Any]] | None:
    items = (await notifier.client.get("/v1/notifications", params={"status": "suppressed"})).json()["items"]
    return items or None


async def _pending(notifier: Notifier, kind: str, customer: uuid.UUID) -> list[dict[str, Any]] | None:
    items = (await notifier.client.get("/v1/notifications", params={"status": "pending"})).json()["items"]
    mine = [i for i in items if i["notification_kind"] == kind and i["customer_id"] == str(customer) and i["log"]]
    return mine or None


async def test_an_edited_template_is_used_for_the_next_message(make_notifier: NotifierFactory) -> None:
    async with smtp_server() as mailbox:
        notifier = await mail_notifier(make_notifier, mailbox)
        edited = await notifier.client.put(
            "/v1/templates/acknowledgement",
            json={"subject": "Heads up, {{ customer_name }}", "body": "We saw: {{ ticket_subject }}."},
        )
        assert edited.json()["revision"] == 1
        reports = outage(3)
        await with_emails(notifier, reports)
        await notifier.publish(*reports)
        await wait_until(lambda: sent(notifier, "acknowledgement", 3))
        assert {m["Subject"] for m in mailbox.messages} == {f"Heads up, Customer {i}" for i in (1, 2, 3)}


async def test_a_template_that_does_not_render_is_refused_naming_the_field(notifier: Notifier) -> None:
    response = await notifier.client.put(
        "/v1/templates/resolution", json={"subject": "Fixed", "body": "Hello {{ customer_nam }}"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.body"
    assert (await notifier.client.get("/v1/templates/resolution")).json()["revision"] == 0


async def test_preferences_of_an_unknown_customer_are_a_404_problem(notifier: Notifier) -> None:
    response = await notifier.client.get(f"/v1/customers/{uuid.uuid4()}/preferences")
    assert response.status_code == 404
    invalid = await notifier.client.put(f"/v1/customers/{uuid.uuid4()}/preferences", json={"email": "not-an-email"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "body.email"


async def test_a_null_opt_out_is_a_422_and_a_null_email_forgets_the_address(notifier: Notifier) -> None:
    customer = uuid.uuid4()
    path = f"/v1/customers/{customer}/preferences"
    await notifier.client.put(path, json={"email": "ada@example.com", "opted_out": True})
    refused = await notifier.client.put(path, json={"email": "grace@example.com", "opted_out": None})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["body.opted_out"]
    kept = (await notifier.client.get(path)).json()
    assert (kept["email"], kept["opted_out"]) == ("ada@example.com", True)
    cleared = await notifier.client.put(path, json={"email": None, "preferred_channel": None})
    assert (cleared.json()["email"], cleared.json()["preferred_channel"], cleared.json()["opted_out"]) == (
        None,
        None,
        True,
    )


async def test_supervisors_record_a_customers_choices_and_ops_only_read_them(notifier: Notifier) -> None:
    supervisor, ops = await notifier.api_key("supervisor"), await notifier.api_key("ops")
    path = f"/v1/customers/{uuid.uuid4()}/preferences"
    assert (await notifier.client.put(path, json={"opted_out": True}, headers=supervisor)).status_code == 200
    assert (await notifier.client.put(path, json={"opted_out": False}, headers=ops)).status_code == 403
    assert (await notifier.client.get(path, headers=ops)).json()["opted_out"] is True


def test_a_template_source_is_compiled_once_and_an_edit_is_compiled_anew() -> None:
    source = "Hello {{ customer_name }}, about {{ ticket_subject }}"
    first = templates.compiled(source)
    assert templates.compiled(source) is first
    assert first.render(customer_name="Ada", ticket_subject="login") == "Hello Ada, about login"
    edited = templates.compiled(source + "!")
    assert edited is not first
    assert edited.render(customer_name="Ada", ticket_subject="login") == "Hello Ada, about login!"


async def test_telling_many_customers_takes_a_few_statements_not_a_few_per_customer(
    notifier: Notifier,
) -> None:
    """A resolution fans out to every customer of the problem (thousands in a crisis): its statements must
    not grow with the customers (it took five per customer: a contact read twice, the template, a
    subscription scan and the delivery's INSERT). Counted on the telling transaction's own connection:
    the delivery worker reads contacts and subscriptions beside it, on its own."""
    await notifier.client.post(
        "/v1/subscriptions",
        json={"url": "http://center.example/hook", "event_types": ["customer.message"], "secret": "s" * 32},
    )
    reports = outage(6)
    await notifier.publish(*reports)
    problem_id = uuid.UUID(await problem_of(notifier, reports[0].ticket_id))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async with notifier.runtime.database.session() as session:
        connection = (await session.connection()).sync_connection
        assert connection is not None
        sql_events.listen(connection, "before_cursor_execute", seen)
        problem = await session.get(Problem, problem_id)
        assert problem is not None
        members = await state.members_of(session, problem_id)
        statements.clear()  # from here on: the fan-out alone
        told = await messages.tell_resolution(session=session, problem=problem, members=members, article_title=None)
        await session.commit()
    assert told == len(reports)  # every customer told (through the contact center: no email known)
    contacts = [s for s in statements if s.lstrip().startswith("SELECT") and "FROM customer_contacts" in s]
    scans = [s for s in statements if s.lstrip().startswith("SELECT") and "FROM subscriptions" in s]
    templates_read = [s for s in statements if s.lstrip().startswith("SELECT") and "FROM message_templates" in s]
    inserts = [s for s in statements if s.lstrip().startswith("INSERT INTO deliveries")]
    assert len(contacts) == 1  # one page of contacts
    assert len(scans) == 1  # the contact center, once for the batch
    assert len(templates_read) <= 1  # the resolution template, once for the batch
    assert len(inserts) == 1  # one multi-row INSERT for the six messages
    assert await wait_until(lambda: _resolutions(notifier, len(reports)))  # and the worker takes them


async def _resolutions(notifier: Notifier, count: int) -> list[dict[str, Any]] | None:
    items = (await notifier.client.get("/v1/notifications", params={"limit": 500})).json()["items"]
    mine = [item for item in items if item["notification_kind"] == "resolution"]
    return mine if len(mine) >= count else None


async def test_a_batch_of_deliveries_stages_those_whose_dedupe_key_is_new(notifier: Notifier) -> None:
    def message(key: str) -> delivery_service.NewDelivery:
        return delivery_service.NewDelivery(
            dedupe_key=key, channel="email", endpoint="ada@example.com", event_type="customer.message", payload=b"{}"
        )

    first, again, other = message("ack:1"), message("ack:1"), message("ack:2")
    async with notifier.runtime.database.session() as session:
        assert await delivery_service.enqueue(session=session, delivery=first) == first.id
        staged = await delivery_service.enqueue_many(session=session, deliveries=[again, other])
        await session.commit()
    assert staged == {other.id}  # the message decided already is not staged twice
    async with notifier.runtime.database.session() as session:
        keys = await session.scalars(select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(["ack:1", "ack:2"])))
        assert sorted(keys) == ["ack:1", "ack:2"]


async def test_a_report_notes_its_customer_without_touching_what_else_is_known(notifier: Notifier) -> None:
    # The intake notes the customer in one upsert before the detection lock (customer_service.note_customer):
    # a new customer is inserted, a known one keeps its email and opt-out, and its name changes only when
    # the report gives one.
    known, new = uuid.uuid4(), uuid.uuid4()
    async with notifier.runtime.database.session() as session:
        session.add(
            CustomerContact(
                customer_id=known, name="Ada", email="ada@example.com", opted_out=True, updated_at=datetime.now(UTC)
            )
        )
        await session.commit()
    for customer, name in [(known, None), (new, "Grace"), (known, "Ada Lovelace")]:
        await notifier.publish(report(*OUTAGE_REPORTS[0], customer_id=customer, customer_name=name))

    async with notifier.runtime.database.session() as session:
        contacts = {
            c.customer_id: (c.name, c.email, c.opted_out)
            for c in await session.scalars(select(CustomerContact).where(CustomerContact.customer_id.in_([known, new])))
        }
    assert contacts == {known: ("Ada Lovelace", "ada@example.com", True), new: ("Grace", None, False)}
