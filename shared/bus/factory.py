"""Choosing the bus from settings: configuration is the only difference between embedded and Kafka."""

from __future__ import annotations

from dataclasses import replace

from shared.bus.kafka import KafkaBus, KafkaSecurity
from shared.bus.memory import InMemoryBus
from shared.bus.port import MessageBus
from shared.events.topics import TopicSpec, all_topics
from shared.settings import BusKind, ServiceSettings


def physical_topics(settings: ServiceSettings) -> list[TopicSpec]:
    """The declared topics under their physical names (with the configured prefix)."""
    return [replace(spec, name=settings.topic(spec.name)) for spec in all_topics()]


def kafka_security(settings: ServiceSettings) -> KafkaSecurity:
    password = settings.kafka_sasl_password
    return KafkaSecurity(
        protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        username=settings.kafka_sasl_username,
        password=password.get_secret_value() if password else None,
    )


def make_bus(settings: ServiceSettings) -> MessageBus:
    """The bus a standalone service process uses."""
    if settings.bus is BusKind.KAFKA:
        return KafkaBus(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id=f"firstcall-{settings.service_name}",
            topics=physical_topics(settings),
            create_topics=settings.kafka_create_topics,
            replication_factor=settings.kafka_replication_factor,
            security=kafka_security(settings),
        )
    return InMemoryBus(physical_topics(settings))
