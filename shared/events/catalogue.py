"""The catalogue: every event firstcall publishes, as a versioned pydantic model.

An event's class says what it means (past tense), which topic it travels on, which service publishes it,
and which aggregate it is about (the CloudEvents subject and Kafka key). Producers build the model and put
it in the outbox; consumers get it back parsed. Importing this module registers every event; the AsyncAPI
document is generated from the registry (`firstcall asyncapi`).

Versioning: a compatible change (a new optional field) keeps the version; anything else is a new class
with `version = 2` beside the old one (`ProblemUpdatedV2` beside `ProblemUpdated`), and producers publish
both until every consumer has moved. When every consumer is in this repository and moves in the same
change, the producer may publish the new version alone; the old class stays registered so that the events
already on the topic are still read (deploy the consumers first).
"""

from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.events.base import Event, catalogue, event_class, parse, register, schema_version
from shared.events.customers import (
    AccountOwnerChanged,
    AgentRegistered,
    AgentStatus,
    AgentUpdated,
    BriefingItem,
    CustomerIdentityLinked,
    CustomerIdentityRemoved,
    CustomerRegistered,
    CustomersMerged,
    CustomersUnmerged,
    Identity,
    IdentityKind,
    OrderLine,
    OrderPlaced,
    OrderRecorded,
)
from shared.events.desktop import SlaAtRisk, TicketProblemLinked
from shared.events.erasure import CustomerErased
from shared.events.feedback import (
    FeedbackDecided,
    FeedbackDecision,
    FeedbackEscalated,
    FeedbackKind,
    FeedbackReceived,
    TicketMarkedFeedback,
)
from shared.events.knowledge import (
    ArticleArchived,
    ArticleDraftProposed,
    ArticlePublished,
    ArticleUpdated,
    KnowledgeSuggested,
    KnownIssueRef,
    KnownIssueStatus,
    KnownIssueUpdated,
    SuggestedArticle,
)
from shared.events.problems import (
    CustomerNotified,
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
    Severity,
)
from shared.events.resolutions import (
    ApprovalDecided,
    ApprovalRequested,
    CreditIssued,
    RefundIssued,
    ReplacementAuthorized,
    ReturnAuthorized,
)
from shared.events.tickets import (
    Channel,
    Priority,
    ResolutionType,
    SlaBreached,
    StatusTrigger,
    TicketAssigned,
    TicketOpened,
    TicketPriorityChanged,
    TicketQueued,
    TicketReopened,
    TicketResolved,
    TicketStatus,
    TicketStatusChanged,
    TicketTransferred,
    TicketUpdated,
    TransferReason,
)

__all__ = [
    "AccountOwnerChanged",
    "AgentRegistered",
    "AgentStatus",
    "AgentUpdated",
    "ApiKeyIssued",
    "ApiKeyRevoked",
    "ApprovalDecided",
    "ApprovalRequested",
    "ArticleArchived",
    "ArticleDraftProposed",
    "ArticlePublished",
    "ArticleUpdated",
    "BriefingItem",
    "Channel",
    "CreditIssued",
    "CustomerErased",
    "CustomerIdentityLinked",
    "CustomerIdentityRemoved",
    "CustomerNotified",
    "CustomerRegistered",
    "CustomersMerged",
    "CustomersUnmerged",
    "Event",
    "FeedbackDecided",
    "FeedbackDecision",
    "FeedbackEscalated",
    "FeedbackKind",
    "FeedbackReceived",
    "Identity",
    "IdentityKind",
    "KnowledgeSuggested",
    "KnownIssueRef",
    "KnownIssueStatus",
    "KnownIssueUpdated",
    "OrderLine",
    "OrderPlaced",
    "OrderRecorded",
    "Priority",
    "ProblemDetected",
    "ProblemEscalated",
    "ProblemResolved",
    "ProblemUpdated",
    "ProblemUpdatedV2",
    "RefundIssued",
    "ReplacementAuthorized",
    "ResolutionType",
    "ReturnAuthorized",
    "Severity",
    "SlaAtRisk",
    "SlaBreached",
    "StatusTrigger",
    "SuggestedArticle",
    "TicketAssigned",
    "TicketMarkedFeedback",
    "TicketOpened",
    "TicketPriorityChanged",
    "TicketProblemLinked",
    "TicketQueued",
    "TicketReopened",
    "TicketResolved",
    "TicketStatus",
    "TicketStatusChanged",
    "TicketTransferred",
    "TicketUpdated",
    "TransferReason",
    "catalogue",
    "event_class",
    "parse",
    "register",
    "schema_version",
]
