"""The Request Tracker that deploy/rt.sh provisions does, through REST 2.0, what the helpdesk bridge relies on.

Each test works on tickets it creates, marked with a unique `firstcall ticket` value, so the tests never see
each other's tickets in RT's one shared database, however many runs it holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.rt_stack import create_agent, rt_client

pytestmark = pytest.mark.integration

QUEUES = ("firstcall", "firstcall-billing", "firstcall-technical")
CUSTOM_FIELDS = {
    "firstcall ticket": ("Freeform", []),
    "firstcall resolution": ("Select", ["return", "refund", "credit", "replacement", "answer"]),
    "firstcall amount": ("Freeform", []),
    "firstcall currency": ("Freeform", []),
    "firstcall order": ("Freeform", []),
    "firstcall reason": ("Freeform", []),
    "firstcall transfer reason": (
        "Select",
        ["missing_skill", "missing_authority", "wrong_intent", "customer_request", "other"],
    ),
    "firstcall problem": ("Freeform", []),
    "firstcall known issue": ("Freeform", []),
}


@pytest.fixture
def bridge() -> Iterator[httpx.Client]:
    """RT's REST 2.0 as the integration user firstcall-bridge."""
    with rt_client() as client:
        yield client


def unique_ticket_id() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


def unique_agent_name() -> str:
    return f"agent-{uuid.uuid4().hex[:10]}"


def open_rt_ticket(bridge: httpx.Client, firstcall_ticket: str, queue: str = "firstcall") -> int:
    response = bridge.post(
        "ticket",
        json={
            "Queue": queue,
            "Subject": "Printer on fire",
            "Requestor": f"{firstcall_ticket.lower()}@customers.example",
            "Content": "It started smoking after the update.",
            "ContentType": "text/plain",
            "CustomFields": {"firstcall ticket": firstcall_ticket},
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def custom_field_values(ticket: dict[str, Any]) -> dict[str, list[str]]:
    return {field["name"]: field["values"] for field in ticket["CustomFields"]}


def search(client: httpx.Client, query: str) -> list[dict[str, Any]]:
    response = client.get("tickets", params={"query": query, "fields": "LastUpdated,Owner,Status"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_bridge_token_opens_rest_2_of_request_tracker_5(bridge: httpx.Client) -> None:
    response = bridge.get("rt")

    assert response.status_code == 200
    assert response.json()["Version"].startswith("5.")


@pytest.mark.parametrize("queue", QUEUES)
def test_each_firstcall_queue_carries_every_firstcall_custom_field(bridge: httpx.Client, queue: str) -> None:
    response = bridge.get(f"queue/{queue}")

    assert response.status_code == 200, response.text
    assert {field["name"] for field in response.json()["TicketCustomFields"]} == set(CUSTOM_FIELDS)


def test_the_custom_fields_have_the_types_and_values_the_bridge_expects(bridge: httpx.Client) -> None:
    listed = bridge.get("queue/firstcall").json()["TicketCustomFields"]

    for link in listed:
        field = bridge.get(f"customfield/{link['id']}").json()
        expected_type, expected_values = CUSTOM_FIELDS[field["Name"]]
        values = field.get("Values", [])  # a Freeform field has no Values key
        assert (field["Type"], field["MaxValues"], values) == (expected_type, "1", expected_values)


def test_a_ticket_opened_with_the_firstcall_ticket_field_reads_back(bridge: httpx.Client) -> None:
    firstcall_ticket = unique_ticket_id()

    rt_id = open_rt_ticket(bridge, firstcall_ticket)
    ticket = bridge.get(f"ticket/{rt_id}").json()

    assert ticket["Subject"] == "Printer on fire"
    assert ticket["Status"] == "new"
    assert ticket["Owner"]["id"] == "Nobody"
    assert [requestor["id"] for requestor in ticket["Requestor"]] == [f"{firstcall_ticket.lower()}@customers.example"]
    assert custom_field_values(ticket)["firstcall ticket"] == [firstcall_ticket]
    assert custom_field_values(ticket)["firstcall resolution"] == []


def test_a_comment_and_a_reply_land_in_the_history_with_their_bodies(bridge: httpx.Client) -> None:
    rt_id = open_rt_ticket(bridge, unique_ticket_id())

    comment = bridge.post(
        f"ticket/{rt_id}/comment",
        json={"Content": "Customer since 2019.\nTwo open orders.", "ContentType": "text/plain"},
    )
    reply = bridge.post(f"ticket/{rt_id}/correspond", json={"Content": "We are on it.", "ContentType": "text/plain"})

    assert (comment.status_code, comment.json()) == (201, ["Comments added"])
    assert (reply.status_code, reply.json()) == (201, ["Correspondence added"])
    history = bridge.get(f"ticket/{rt_id}/history", params={"fields": "Type,Creator", "per_page": 100}).json()
    kinds = [(item["Type"], item["Creator"]["id"]) for item in history["items"]]
    assert ("Comment", "firstcall-bridge") in kinds
    assert ("Correspond", "firstcall-bridge") in kinds
    attachments = bridge.get(f"ticket/{rt_id}/attachments", params={"fields": "Content,ContentType"}).json()
    bodies = [item["Content"] for item in attachments["items"] if item["ContentType"] == "text/plain"]
    assert "Customer since 2019.\nTwo open orders." in bodies
    assert "We are on it." in bodies
    # A reply opens a new ticket (RT's own scrip, acting as RT_System).
    assert bridge.get(f"ticket/{rt_id}").json()["Status"] == "open"


def test_ticketsql_finds_a_ticket_by_its_firstcall_ticket_field(bridge: httpx.Client) -> None:
    firstcall_ticket = unique_ticket_id()
    rt_id = open_rt_ticket(bridge, firstcall_ticket, queue="firstcall-billing")
    open_rt_ticket(bridge, unique_ticket_id(), queue="firstcall-billing")

    found = search(bridge, f"'CF.{{firstcall ticket}}' = '{firstcall_ticket}'")

    assert [int(item["id"]) for item in found] == [rt_id]


def test_ticketsql_on_last_updated_finds_changes_from_a_cursor_on(bridge: httpx.Client) -> None:
    firstcall_ticket = unique_ticket_id()
    rt_id = open_rt_ticket(bridge, firstcall_ticket)
    cursor = bridge.get(f"ticket/{rt_id}").json()["LastUpdated"]  # e.g. 2026-12-07T12:28:09Z, always UTC
    mine = f"'CF.{{firstcall ticket}}' = '{firstcall_ticket}'"

    since_cursor = search(bridge, f"LastUpdated >= '{cursor}' AND {mine}")
    before_cursor = search(bridge, f"LastUpdated < '{cursor}' AND {mine}")

    assert [(int(item["id"]), item["LastUpdated"]) for item in since_cursor] == [(rt_id, cursor)]
    assert before_cursor == []


def test_the_bridge_gives_a_ticket_to_an_agent_made_by_create_agent(bridge: httpx.Client) -> None:
    agent, _ = create_agent(unique_agent_name())
    rt_id = open_rt_ticket(bridge, unique_ticket_id(), queue="firstcall-technical")

    response = bridge.put(f"ticket/{rt_id}", json={"Owner": agent})

    assert response.status_code == 200
    assert response.json() == [f"Ticket {rt_id}: Owner changed from Nobody to {agent}"]
    assert bridge.get(f"ticket/{rt_id}").json()["Owner"]["id"] == agent


def test_an_agent_sets_the_resolution_fields_as_rts_web_form_would(bridge: httpx.Client) -> None:
    agent, token = create_agent(unique_agent_name())
    firstcall_ticket = unique_ticket_id()
    rt_id = open_rt_ticket(bridge, firstcall_ticket)
    bridge.put(f"ticket/{rt_id}", json={"Owner": agent})
    resolution = {
        "firstcall resolution": "credit",
        "firstcall amount": "25.00",
        "firstcall currency": "EUR",
        "firstcall order": "SO-1",
        "firstcall reason": "arrived late",
    }

    with rt_client(token) as as_agent:
        response = as_agent.put(f"ticket/{rt_id}", json={"CustomFields": resolution})

    assert response.status_code == 200
    assert sorted(response.json()) == sorted(f"{name} {value} added" for name, value in resolution.items())
    values = custom_field_values(bridge.get(f"ticket/{rt_id}").json())
    assert {name: values[name] for name in resolution} == {name: [value] for name, value in resolution.items()}
    history = bridge.get(
        f"ticket/{rt_id}/history", params={"fields": "Type,Field,NewValue,Creator", "per_page": 100}
    ).json()
    changes = {item["NewValue"] for item in history["items"] if item["Type"] == "CustomField"}
    assert set(resolution.values()) <= changes
    assert {item["Creator"]["id"] for item in history["items"] if item["Type"] == "CustomField"} == {agent}
    assert search(
        bridge, f"'CF.{{firstcall ticket}}' = '{firstcall_ticket}' AND 'CF.{{firstcall resolution}}' = 'credit'"
    )


def test_a_resolution_outside_the_select_values_is_refused_in_the_answer_not_the_status(
    bridge: httpx.Client,
) -> None:
    agent, token = create_agent(unique_agent_name())
    rt_id = open_rt_ticket(bridge, unique_ticket_id())
    bridge.put(f"ticket/{rt_id}", json={"Owner": agent})

    with rt_client(token) as as_agent:
        response = as_agent.put(f"ticket/{rt_id}", json={"CustomFields": {"firstcall resolution": "discount"}})

    assert (response.status_code, response.json()) == (200, ["Invalid value for custom field"])
    assert custom_field_values(bridge.get(f"ticket/{rt_id}").json())["firstcall resolution"] == []


def test_a_user_outside_the_agents_group_cannot_be_given_a_ticket(bridge: httpx.Client) -> None:
    outsider = unique_agent_name()
    created = bridge.post("user", json={"Name": outsider, "EmailAddress": f"{outsider}@staff.example", "Privileged": 1})
    rt_id = open_rt_ticket(bridge, unique_ticket_id())

    response = bridge.put(f"ticket/{rt_id}", json={"Owner": outsider})

    assert created.status_code == 201, created.text
    assert (response.status_code, response.json()) == (
        200,
        [f"Ticket {rt_id}: That user may not own tickets in that queue"],
    )
    assert bridge.get(f"ticket/{rt_id}").json()["Owner"]["id"] == "Nobody"
