"""Feedback clusters and their voices: the same suggestion or complaint from many customers, in many words.

Kept apart from problems (their own tables, their own clustering pass): a fault to fix and a procedure to
change never fall into one cluster, and neither shows in the other's counts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime

# open: waiting for its owner's decision; decided: accepted, already done or declined (the decision column).
ClusterStatus = Literal["open", "decided"]


class FeedbackCluster(Base):
    __tablename__ = "feedback_clusters"
    __table_args__ = (
        Index("ix_feedback_clusters_status_created", "status", "created_at"),
        Index("ix_feedback_clusters_last_voice", "last_voice_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(10))
    summary_text: Mapped[str] = mapped_column(Text, comment="the first voice's words")
    owner: Mapped[str] = mapped_column(String(100), index=True)
    unowned: Mapped[bool] = mapped_column(Boolean, comment="no mapping named an owner: the default owner has it")
    owned_by: Mapped[str | None] = mapped_column(String(120), comment="the mapping that named the owner")
    voice_count: Mapped[int] = mapped_column(Integer, default=0)
    customer_count: Mapped[int] = mapped_column(Integer, default=0)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_voice_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decision_due_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalated_to: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str | None] = mapped_column(String(20), comment="accepted, already_done or declined")
    change: Mapped[str | None] = mapped_column(Text)
    change_due: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class FeedbackVoice(Base):
    """One customer's feedback (one ticket), in their words, and the cluster it joined."""

    __tablename__ = "feedback_voices"
    __table_args__ = (
        Index("ix_feedback_voices_cluster_received", "cluster_id", "received_at"),
        Index("ix_feedback_voices_received", "received_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback_clusters.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, comment="subject and description, as the customer wrote them")
    intent: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The same vectors as a report's (detection.similarity.ReportVector), for feedback's own clustering.
    features: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TicketQuestion(Base):
    """The one question asked about a resolved ticket, and the customer's answer, with what it is counted by."""

    __tablename__ = "ticket_questions"
    __table_args__ = (
        Index("ix_ticket_questions_asked", "asked_at"),
        Index("ix_ticket_questions_answered", "answered_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent_id: Mapped[uuid.UUID | None]
    team: Mapped[str | None] = mapped_column(String(100))
    intent: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    counted_first_contact: Mapped[bool] = mapped_column(
        Boolean, comment="firstcall counted it resolved at first contact"
    )
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_first_contact: Mapped[bool | None] = mapped_column(Boolean, comment="the customer's own answer")
    answer_text: Mapped[str | None] = mapped_column(Text)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, comment="counted first contact, answered no")
    followed_up_as: Mapped[str | None] = mapped_column(String(20), comment="feedback or report: the free text")
