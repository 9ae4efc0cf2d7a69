"""Reliable messaging around the bus: the transactional outbox, the inbox, and their tables."""
