"""Faults on the real stack, while tickets flow: nothing lost, nothing applied twice, everything back.

The tests share one stack and run in this order, each leaving it whole for the next. Times are measured
and printed (the table at the end of the run), never asserted.
"""

from __future__ import annotations

import functools

import pytest

from tests.faults import faults
from tests.faults.campaign import Fault, Stack, run_phase
from tests.faults.verdict import record_and_judge

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(420)]


async def strike(stack: Stack, name: str, title: str, fault: Fault) -> None:
    row, phase, census = await run_phase(stack, name, title, fault)
    record_and_judge(row, phase, census)


async def test_a_kafka_broker_killed_and_restarted_loses_and_doubles_nothing(stack: Stack) -> None:
    await strike(stack, "kafka", "Kafka broker killed, restarted", faults.kafka_killed)


async def test_a_postgresql_restart_loses_and_doubles_nothing(stack: Stack) -> None:
    await strike(stack, "postgres", "PostgreSQL restarted", faults.postgres_restarted)


async def test_the_router_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(stack: Stack) -> None:
    kill = functools.partial(
        faults.consumer_killed_mid_batch, service="router", event_type="firstcall.knowledge.suggested"
    )
    await strike(stack, "router-consumer", "router consumer killed mid-batch", kill)


async def test_knowledge_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(stack: Stack) -> None:
    kill = functools.partial(
        faults.consumer_killed_mid_batch, service="knowledge", event_type="firstcall.ticket.opened"
    )
    await strike(stack, "knowledge-consumer", "knowledge consumer killed mid-batch", kill)


async def test_a_notifier_replica_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(stack: Stack) -> None:
    kill = functools.partial(faults.consumer_killed_mid_batch, service="notifier", event_type="firstcall.ticket.opened")
    await strike(stack, "notifier-consumer", "notifier consumer killed mid-batch", kill)


async def test_a_notifier_replica_killed_during_detection_loses_and_doubles_nothing(stack: Stack) -> None:
    await strike(
        stack, "detection", "notifier replica killed during detection", faults.notifier_killed_during_detection
    )


async def test_the_delivery_worker_killed_in_the_middle_of_a_send_tells_each_customer_once(stack: Stack) -> None:
    await strike(stack, "delivery", "delivery worker killed mid-send", faults.delivery_worker_killed_mid_send)


async def test_the_router_killed_between_commit_and_answer_opens_one_ticket_and_books_one_credit(
    stack: Stack,
) -> None:
    await strike(
        stack,
        "router-commit",
        "router killed between commit and answer",
        faults.router_killed_between_commit_and_answer,
    )
