"""Settings every firstcall service shares, read once from the environment.

Each service subclasses `ServiceSettings`, sets `service_name`, and builds exactly one instance in its
bootstrap. Everything is overridable with `FIRSTCALL_*` variables; the defaults are the embedded mode
(SQLite files and the in-memory bus), so `make run` needs no configuration at all.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Known to be public (they are in this file); refused anywhere but development and test.
DEVELOPMENT_SECRET = "firstcall-development-secret-not-for-production"
DEVELOPMENT_ADMIN_KEY = "firstcall-dev-admin-key"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class BusKind(StrEnum):
    MEMORY = "memory"
    KAFKA = "kafka"


class ServiceSettings(BaseSettings):
    """Configuration common to router, knowledge and notifier."""

    model_config = SettingsConfigDict(env_prefix="FIRSTCALL_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "service"

    environment: Environment = Field(Environment.DEVELOPMENT, description="development, test or production")
    data_dir: Path = Field(Path("data"), description="where embedded-mode SQLite files live")
    database_url: str = Field(
        "sqlite+aiosqlite:///{data_dir}/{service}.db",
        description="SQLAlchemy async URL; `{service}` and `{data_dir}` are substituted per service",
    )
    database_pool_size: int = Field(20, ge=1, le=500, description="connections per process (PostgreSQL)")
    bus: BusKind = Field(BusKind.MEMORY, description="`memory` (embedded, one process) or `kafka`")
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="comma-separated Kafka brokers")
    kafka_topic_prefix: str = Field(
        "",
        description="prefix of every topic and consumer group name (isolates environments and test runs on one cluster)",
    )
    kafka_create_topics: bool = Field(True, description="create the declared topics at start if missing")
    kafka_replication_factor: int = Field(1, ge=-1, description="replicas per new topic; -1 = broker default")
    kafka_security_protocol: str = Field(
        "PLAINTEXT", pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$", description="Kafka listener protocol"
    )
    kafka_sasl_mechanism: str = Field("PLAIN", description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    kafka_sasl_username: str | None = Field(None, description="SASL user (SASL_* protocols)")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (SASL_* protocols)")
    consumer_max_attempts: int = Field(5, ge=1, description="handler attempts before dead-lettering")
    consumer_retry_backoff_ms: int = Field(200, ge=0, description="first retry delay, doubled per attempt")
    outbox_poll_interval_ms: int = Field(500, ge=10, description="relay poll when not woken by a commit")
    outbox_batch_size: int = Field(200, ge=1, description="events the relay publishes per transaction")
    outbox_coalesce_ms: int = Field(
        10, ge=0, le=1000, description="after a commit, how long the relay waits for more commits to publish together"
    )
    outbox_coalesce_max_ms: int = Field(
        50,
        ge=0,
        le=1000,
        description="the relay's longest wait under a stream of commits (it doubles from outbox_coalesce_ms)",
    )
    outbox_retention_hours: int = Field(72, ge=1, description="published outbox rows kept for audit")
    host: str = Field("127.0.0.1", description="HTTP bind address")
    port: int = Field(
        8000, ge=1, le=65535, description="HTTP port; give each service its own with FIRSTCALL_ROUTER_PORT, ..."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="larger request bodies get 413")
    http_max_in_flight: int = Field(
        32, ge=1, description="requests one process serves at once; more wait for a slot (about 2x the DB pool)"
    )
    http_queue_timeout_ms: int = Field(
        100, ge=0, description="how long a request waits for a slot before a 503 with Retry-After"
    )
    shutdown_grace_seconds: float = Field(10.0, ge=0, description="time to drain handlers and outbox")
    log_level: str = Field("INFO", description="root log level")
    log_format: str = Field("json", pattern="^(json|text)$", description="`json` for machines, `text`")
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="OTLP/HTTP collector base URL for traces (sent to /v1/traces); unset: tracing is off unless "
        "the standard OTEL_EXPORTER_OTLP_ENDPOINT is set",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET), description="signs and hashes secrets; required outside development"
    )
    admin_api_key: SecretStr | None = Field(
        None, description="bootstrap admin API key; required outside development (where it defaults to a dev key)"
    )
    api_rate_limit_per_minute: int = Field(600, ge=1, description="default requests per minute per API key")
    rate_limit_sync_ms: int = Field(
        1000,
        ge=0,
        description="how often replicas share per-key request counts (PostgreSQL); 0: each replica limits alone",
    )
    migrate_on_start: bool = Field(True, description="apply Alembic migrations when the service starts")
    router_url: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:8000"),
        description="the router's API, where the services fetch customers' keys for sealed event fields "
        "(with data_key_api_key); embedded mode asks the router in process",
    )
    data_key_api_key: SecretStr | None = Field(
        None, description="a `service`-scoped router key to fetch customers' data keys with (default: the admin key)"
    )

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            if self.admin_api_key is None:
                object.__setattr__(self, "admin_api_key", SecretStr(DEVELOPMENT_ADMIN_KEY))
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEVELOPMENT_SECRET or len(secret) < 32:
            raise ValueError("FIRSTCALL_SECRET_KEY must be set to a random value of 32+ characters")
        admin = self.admin_api_key.get_secret_value() if self.admin_api_key else ""
        if admin == DEVELOPMENT_ADMIN_KEY or len(admin) < 32:
            raise ValueError("FIRSTCALL_ADMIN_API_KEY must be set to a random value of 32+ characters")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # FIRSTCALL_ROUTER_PORT beats FIRSTCALL_PORT: one environment can configure all three services
        # (embedded mode, compose) while still giving each its own port or database.
        per_service = EnvSettingsSource(settings_cls, env_prefix=f"FIRSTCALL_{cls.service_name.upper()}_")
        return init_settings, per_service, env_settings, dotenv_settings, file_secret_settings

    def resolved_database_url(self) -> str:
        """The database URL for this service, with placeholders filled in."""
        return self.database_url.replace("{service}", self.service_name).replace("{data_dir}", str(self.data_dir))

    def topic(self, name: str) -> str:
        """The physical topic name for a declared topic."""
        return f"{self.kafka_topic_prefix}{name}"

    def consumer_group(self, name: str) -> str:
        """The Kafka group id of a service's consumer group: environments sharing a cluster under different
        prefixes must not share groups, or every replica starting in one rebalances the others."""
        return f"{self.kafka_topic_prefix}{name}"
