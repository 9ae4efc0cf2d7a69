"""The agent's context as RT shows it: what a person needs first, in simple HTML, nothing unescaped."""

from __future__ import annotations

from typing import Any

from services.helpdesk.outbound.context import context_comment

ARTICLE_URL = "https://kb.example.com/articles/{id}"


def context(**overrides: Any) -> dict[str, Any]:
    """A router context answer (GET /v1/tickets/{id}/context), trimmed to what the comment reads."""
    body: dict[str, Any] = {
        "ticket": {"id": "t-1", "agent_id": "a-1"},
        "customer": {
            "profile": {
                "display_name": "Ada Lovelace",
                "identities": [
                    {"kind": "email", "value": "ada@example.com"},
                    {"kind": "phone", "value": "+442079460958"},
                ],
            },
            "owner": {"agent_id": "a-9", "name": "Alan"},
            "tenure_days": 412,
            "open_tickets": [{"subject": "Parcel late", "status": "open", "channel": "email"}],
            "recent_history": [{"occurred_at": "2026-12-01T10:00:00Z", "summary": "credit 10.00 EUR"}],
        },
        "orders": [
            {
                "order": {
                    "id": "o-1",
                    "external_ref": "SO-1",
                    "currency": "EUR",
                    "total": "120.00",
                    "ordered_at": "2026-12-01T09:00:00Z",
                },
                "refundable": "110.00",
                "returnable_until": "2026-12-31T09:00:00Z",
                "returnable": True,
            }
        ],
        "pending_approvals": [],
        "knowledge": {
            "source": "events",
            "articles": [{"article_id": "k-1", "title": "Card declined <fix>", "snippet": "Check the limit"}],
            "known_issue": {"title": "3-D Secure outage", "status": "workaround_available", "workaround": "Use app"},
        },
        "problem": {
            "summary": "Cards declined at checkout",
            "other_customers": 41,
            "severity": "major",
            "status": "open",
            "resolution": None,
        },
        "allowed_actions": [
            {"type": "answer", "summary": "answer and resolve"},
            {"type": "credit", "summary": "credit up to 50.00 EUR on order SO-1 without approval"},
        ],
    }
    body.update(overrides)
    return body


def test_the_context_comment_says_who_what_and_what_the_agent_may_do() -> None:
    comment = context_comment(context(), agent="Grace", why="skills: best match", article_url=ARTICLE_URL)
    text = comment.text
    assert comment.html
    assert comment.subject == "firstcall: context for Grace"
    for expected in (
        "firstcall assigned this ticket to Grace</b> (skills: best match)",
        "Customer: Ada Lovelace",
        "email ada@example.com, phone +442079460958",
        "customer for 412 days",
        "account owner Alan",
        "Parcel late (open, email)",
        "credit up to 50.00 EUR on order SO-1 without approval",
        "SO-1: 120.00 EUR, ordered 2026-12-01; still refundable 110.00 EUR; returnable until 2026-12-31",
        '<a href="https://kb.example.com/articles/k-1">Card declined &lt;fix&gt;</a>',
        "3-D Secure outage: workaround available",
        "workaround: Use app",
        "Cards declined at checkout",
        "41 other customers report it (major, open)",
        "2026-12-01 credit 10.00 EUR",
    ):
        assert expected in text, expected
    assert text.index("What you may do now") < text.index("Orders") < text.index("Recent history")


def test_nothing_from_the_customer_reaches_rt_as_markup() -> None:
    hostile = context()
    hostile["customer"]["profile"]["display_name"] = "<script>alert(1)</script>"
    text = context_comment(hostile, agent="<b>x</b>", why=None, article_url=ARTICLE_URL).text
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "<b>x</b>" not in text


def test_parts_firstcall_does_not_know_are_left_out() -> None:
    bare = context(orders=[], problem=None, knowledge={"source": "pending", "articles": [], "known_issue": None})
    text = context_comment(bare, agent="Grace", why=None, article_url=ARTICLE_URL).text
    assert "Orders" not in text
    assert "Problem this ticket belongs to" not in text
    assert "Not computed yet; they will follow in a comment." in text


def test_a_ticket_that_is_not_open_offers_nothing_without_a_supervisor() -> None:
    text = context_comment(context(allowed_actions=[]), agent="Grace", why=None, article_url=ARTICLE_URL).text
    assert "Nothing without a supervisor" in text


def test_long_lists_are_cut_for_a_screen() -> None:
    many = context()
    many["customer"]["open_tickets"] = [{"subject": f"t{i}", "status": "open", "channel": "web"} for i in range(20)]
    text = context_comment(many, agent="Grace", why=None, article_url=ARTICLE_URL).text
    assert "t7 (open, web)" in text
    assert "t8 (open, web)" not in text
    assert "and 12 more" in text
