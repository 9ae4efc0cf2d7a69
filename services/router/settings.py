"""The router's settings (FIRSTCALL_* and FIRSTCALL_ROUTER_* variables)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator

from services.router import money
from shared.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    service_name: ClassVar[str] = "router"

    port: int = Field(8000, ge=1, le=65535, description="HTTP port of the router")
    default_phone_region: str | None = Field(
        None, pattern="^[A-Z]{2}$", description="region for national phone numbers (e.g. GB); else E.164 only"
    )
    auto_merge_customers: bool = Field(
        False, description="merge profiles when one ticket's identities belong to several customers"
    )
    unmerge_window_hours: float = Field(
        72.0, ge=0, le=8_760, description="how long after a merge it may be undone (0: merges are final)"
    )
    auto_resolve_on_fix: bool = Field(
        False,
        description="resolve a resolved problem's open tickets with its fix at once, instead of offering the fix "
        "to their agents to accept",
    )
    intent_encoder: Literal["none", "wordllama", "minilm"] = Field(
        "wordllama",
        description="sentence embeddings beside TF-IDF: wordllama (fast), minilm (pip extra `minilm`) or none",
    )
    intent_profile_refresh_seconds: float = Field(
        5.0, ge=0, description="a profile changed through another replica is used within this many seconds"
    )
    intent_confidence_threshold: float = Field(
        0.5, ge=0, le=1, description="below this confidence a ticket's intent is `unknown`"
    )
    return_window_days: int = Field(30, ge=0, description="days after an order in which returns are in policy")
    customer_cap: dict[str, Decimal] = Field(
        {"EUR": Decimal("500.00"), "USD": Decimal("500.00"), "GBP": Decimal("450.00")},
        description="money per currency one customer may get per period without a supervisor (none: 0)",
    )
    customer_cap_days: int = Field(30, ge=1, description="the period of the per-customer cap, in days")
    sla_minutes: dict[str, int] = Field(
        {"urgent": 5, "high": 15, "normal": 60, "low": 240}, description="first-response due time per priority"
    )
    sla_check_seconds: float = Field(15.0, gt=0, description="how often overdue first responses are looked for")
    fcr_reopen_window_days: int = Field(
        7, ge=0, description="a reopen within this many days revokes first-contact resolution"
    )
    close_after_days: float = Field(
        7.0,
        gt=0,
        le=3650,
        description="a resolved ticket unchanged this long is closed (final: a returning customer gets a new "
        "ticket); keep it at least FIRSTCALL_ROUTER_FCR_REOPEN_WINDOW_DAYS",
    )
    close_check_seconds: float = Field(300.0, gt=0, description="how often resolved tickets are checked for closing")
    continuity_days: int = Field(30, ge=0, description="how recent a related ticket must be for continuity routing")
    feedback_intents: dict[str, Literal["suggestion", "complaint", "compliment"]] = Field(
        {},
        max_length=200,
        description="intents that are feedback, not a fault to fix, and the kind of each (JSON, e.g. "
        '{"procedure_complaint": "complaint"}): acknowledged quoting the customer and resolved at first contact',
    )
    knowledge_url: HttpUrl = Field(HttpUrl("http://127.0.0.1:8001"), description="knowledge service, for fallbacks")
    knowledge_api_key: SecretStr | None = Field(None, description="key for the knowledge fallback (default: admin)")
    knowledge_timeout_ms: int = Field(150, ge=10, description="the context never waits longer on knowledge")
    seal_personal_fields: bool = Field(
        False,
        description="seal customers' personal fields in events with a per-customer key that erasure destroys "
        "(decision 0031); turn on once knowledge, the notifier and the bridge reach the router (their ROUTER_URL)",
    )

    @field_validator("customer_cap")
    @classmethod
    def _caps_in_known_currencies(cls, caps: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency in caps:
            if currency not in money.MINOR_UNITS:
                raise ValueError(f"{currency} is not an ISO 4217 currency one pays in")
        return money.exact_map(caps)
