"""What ops run against the real stack: tail the streams, read consumer lag, list and replay dead letters,
see the outboxes, problems and one ticket's trail, and where each database's migrations stand.

It reads Kafka and the services' shared messaging tables (shared/) and calls the services' public HTTP APIs;
it never imports a service's own modules, so a service can change its internals without breaking it.
"""
