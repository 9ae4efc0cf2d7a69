"""RT's history read as actions: a form's several transactions are one thing an agent did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.helpdesk.desk.port import Change, ChangeKind
from services.helpdesk.inbound.actions import group

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def change(
    id: int,
    author: str,
    kind: ChangeKind,
    *,
    second: int = 0,
    field: str | None = None,
    old: str | None = None,
    new: str | None = None,
) -> Change:
    return Change(id, 1, kind, author, T0 + timedelta(seconds=second), field, old, new)


def test_a_form_setting_fields_and_status_is_one_action() -> None:
    [action] = group(
        [
            change(1, "grace", "field", field="resolution", new="credit"),
            change(2, "grace", "field", field="amount", new="25.00"),
            change(3, "grace", "status", second=1, old="open", new="resolved"),
        ]
    )
    assert action.resolution_set
    assert action.resolved
    assert action.last_id == 3


def test_different_authors_or_a_pause_make_separate_actions() -> None:
    actions = group(
        [
            change(1, "grace", "reply"),
            change(2, "RT_System", "status", old="new", new="open"),
            change(3, "grace", "comment", second=1),
            change(4, "grace", "reply", second=30),
        ]
    )
    assert [(a.author, [c.id for c in a.changes]) for a in actions] == [
        ("grace", [1]),
        ("RT_System", [2]),
        ("grace", [3]),
        ("grace", [4]),
    ]


def test_an_owner_set_and_set_back_is_no_owner_change() -> None:
    [action] = group(
        [change(1, "grace", "owner", old="grace", new="alan"), change(2, "grace", "owner", old="alan", new="grace")]
    )
    assert action.new_owner is None


def test_reopened_means_from_an_inactive_status_to_an_active_one() -> None:
    [reopened] = group([change(1, "ada@example.com", "status", old="resolved", new="open")])
    [started] = group([change(1, "RT_System", "status", old="new", new="open")])
    [there_and_back] = group(
        [
            change(1, "grace", "status", old="open", new="resolved"),
            change(2, "grace", "status", old="resolved", new="open"),
        ]
    )
    assert reopened.reopened
    assert not started.reopened
    assert not there_and_back.resolved
    assert not there_and_back.reopened
