"""The event bus port and its two adapters: Kafka (aiokafka) and in-memory (embedded mode and tests)."""
