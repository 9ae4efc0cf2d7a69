"""The helpdesk bridge's settings (FIRSTCALL_* and FIRSTCALL_HELPDESK_* variables)."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from shared.settings import DEVELOPMENT_ADMIN_KEY, Environment, ServiceSettings

# RT 5 auth tokens read `<id>-<user id>-<32 hex digits>`: anything much shorter, or a template's filler
# (deploy/k8s/secret.yaml ships REPLACE-ME), is not a token RT issued.
_SHORTEST_RT_TOKEN = 20
_PLACEHOLDER_WORDS = ("replace-me", "replace_me", "replaceme", "change-me", "changeme", "placeholder", "example")


def _placeholder(value: SecretStr) -> bool:
    text = value.get_secret_value().strip().lower()
    return any(word in text for word in _PLACEHOLDER_WORDS)


class HelpdeskSettings(ServiceSettings):
    service_name: ClassVar[str] = "helpdesk"

    port: int = Field(8003, ge=1, le=65535, description="HTTP port of the helpdesk bridge")
    rt_url: HttpUrl | None = Field(
        None, description="Request Tracker's base URL (REST 2.0 under /REST/2.0); unset: the bridge does not run"
    )
    rt_token: SecretStr | None = Field(None, description="auth token of RT's integration user (required with rt_url)")
    rt_user: str = Field(
        "firstcall-bridge", min_length=1, max_length=200, description="RT name of that integration user"
    )
    rt_timeout_seconds: float = Field(10.0, gt=0, le=120, description="time RT gets to answer one request")
    router_url: HttpUrl = Field(HttpUrl("http://127.0.0.1:8000"), description="the router's public API")
    router_api_key: SecretStr | None = Field(
        None, description="agent-scoped router key not bound to an agent (default outside production: admin)"
    )
    router_timeout_seconds: float = Field(5.0, gt=0, le=60, description="time the router gets to answer")
    article_url: str = Field(
        "http://127.0.0.1:8001/v1/articles/{id}",
        max_length=500,
        pattern=r"\{id\}",
        description="link to an article in RT's comments; {id} is the article's id",
    )
    poll_interval_seconds: float = Field(2.0, ge=0.1, le=3600, description="how often RT is asked what changed")
    poll_overlap_seconds: int = Field(
        120, ge=0, le=86_400, description="the LastUpdated cursor is read back this far (clock and commit skew)"
    )
    settle_seconds: float = Field(
        1.0, ge=0, le=60, description="RT changes younger than this wait a poll (a form's fields arrive together)"
    )
    queue_map: dict[str, str] = Field(
        default_factory=dict,
        max_length=500,
        description="RT queue per `team:<team>` or `intent:<intent>` (JSON; `intent:unknown`: not classified); the team wins once assigned",
    )
    default_queue: str = Field("firstcall", min_length=1, max_length=200, description="RT queue otherwise")
    placeholder_email_domain: str = Field(
        "phone.firstcall.invalid",
        pattern=r"^[A-Za-z0-9.-]{1,200}$",
        description="requestor address domain for customers without email (customer-<id>@domain)",
    )
    effect_batch_size: int = Field(20, ge=1, le=500, description="RT writes one worker cycle takes on")
    effect_backoff_initial_seconds: float = Field(1.0, gt=0, le=60, description="first retry delay, doubled")
    effect_backoff_max_seconds: float = Field(300.0, gt=0, le=3600, description="longest retry delay")
    effect_unlinked_expiry_hours: int = Field(
        24, ge=1, le=720, description="an effect on a ticket never created in RT is dropped after this"
    )
    lease_seconds: float = Field(
        15.0, ge=1, le=600, description="one replica polls and writes to RT; another takes over after this"
    )
    feedback_queue: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="RT queue where owners decide feedback clusters (unset: feedback stays out of RT)",
    )
    feedback_queues: dict[str, str] = Field(
        default_factory=dict,
        max_length=500,
        description="RT queue per feedback owner team (JSON, team -> queue); feedback_queue otherwise",
    )
    notifier_url: HttpUrl = Field(HttpUrl("http://127.0.0.1:8002"), description="the notifier's public API")
    notifier_api_key: SecretStr | None = Field(
        None, description="supervisor-scoped key the bridge decides feedback with (default outside production: admin)"
    )
    notifier_timeout_seconds: float = Field(5.0, gt=0, le=60, description="time the notifier gets to answer")
    feedback_poll_seconds: float = Field(
        30.0, ge=0.1, le=3600, description="how often the notifier's open feedback and RT's decisions are read"
    )
    feedback_max_clusters: int = Field(
        2_000, ge=1, le=20_000, description="open feedback clusters one poll looks at (newest first)"
    )

    @field_validator("queue_map")
    @classmethod
    def _queue_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key, queue in value.items():
            kind, _, name = key.partition(":")
            if kind not in ("team", "intent") or not name or len(key) > 200:
                raise ValueError(f"queue_map key {key!r} must be `team:<name>` or `intent:<name>`")
            if not queue or len(queue) > 200:
                raise ValueError(f"queue_map[{key!r}] must name a queue")
        return value

    @field_validator("feedback_queues")
    @classmethod
    def _feedback_queue_names(cls, value: dict[str, str]) -> dict[str, str]:
        for team, queue in value.items():
            if not team or len(team) > 100 or not queue or len(queue) > 200:
                raise ValueError(f"feedback_queues[{team!r}] must map a team (100 characters) to a queue (200)")
        return value

    @model_validator(mode="after")
    def _connected_needs_credentials(self) -> Self:
        if self.rt_url is not None and self.rt_token is None:
            raise ValueError("FIRSTCALL_HELPDESK_RT_TOKEN is required with FIRSTCALL_HELPDESK_RT_URL")
        if self.environment is Environment.PRODUCTION and self.rt_url is not None and self.router_api_key is None:
            raise ValueError("FIRSTCALL_HELPDESK_ROUTER_API_KEY is required in production")
        if self.environment is Environment.PRODUCTION and self.feedback_queue and self.notifier_api_key is None:
            raise ValueError("FIRSTCALL_HELPDESK_NOTIFIER_API_KEY is required in production with a feedback queue")
        if self.environment is Environment.PRODUCTION:
            self._refuse_placeholders()
        return self

    def _refuse_placeholders(self) -> None:
        token = self.rt_token
        if token is not None and (_placeholder(token) or len(token.get_secret_value().strip()) < _SHORTEST_RT_TOKEN):
            raise ValueError(
                "FIRSTCALL_HELPDESK_RT_TOKEN must be the auth token RT issued to the integration user "
                f"(a placeholder like REPLACE-ME, or anything under {_SHORTEST_RT_TOKEN} characters, is refused)"
            )
        key = self.router_api_key
        if key is not None and (_placeholder(key) or key.get_secret_value() == DEVELOPMENT_ADMIN_KEY):
            raise ValueError("FIRSTCALL_HELPDESK_ROUTER_API_KEY must be a router key issued for the bridge")
        notifier_key = self.notifier_api_key
        if notifier_key is not None and (
            _placeholder(notifier_key) or notifier_key.get_secret_value() == DEVELOPMENT_ADMIN_KEY
        ):
            raise ValueError("FIRSTCALL_HELPDESK_NOTIFIER_API_KEY must be a key issued for the bridge")

    @property
    def connected(self) -> bool:
        """Whether an RT is configured (the bridge has something to do)."""
        return self.rt_url is not None

    def router_key(self) -> str:
        """The key the bridge calls the router with: its own, or (outside production) the admin key."""
        key = self.router_api_key or self.admin_api_key
        assert key is not None, "the settings validator sets the admin key outside production"
        return key.get_secret_value()

    def notifier_key(self) -> str:
        """The key the bridge calls the notifier with: its own, or (outside production) the admin key."""
        key = self.notifier_api_key or self.admin_api_key
        assert key is not None, "the settings validator sets the admin key outside production"
        return key.get_secret_value()

    @property
    def feedback_enabled(self) -> bool:
        """Whether feedback clusters are mirrored into RT to be decided there."""
        return self.feedback_queue is not None

    def feedback_queue_of(self, owner: str) -> str:
        """The RT queue of a feedback owner team."""
        assert self.feedback_queue is not None, "only asked when feedback is enabled"
        return self.feedback_queues.get(owner, self.feedback_queue)

    def queue_for(self, *, team: str | None = None, intent: str | None = None) -> str | None:
        """The mapped queue of a team or an intent, if any."""
        if team and f"team:{team}" in self.queue_map:
            return self.queue_map[f"team:{team}"]
        if intent and f"intent:{intent}" in self.queue_map:
            return self.queue_map[f"intent:{intent}"]
        return None
