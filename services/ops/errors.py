"""What a command's exit code means, and the errors that choose it (docs/operations.md#exit-codes)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # the command ran and something failed (a replay the broker refused, a service's 5xx)
    USAGE = 2  # bad arguments (argparse uses 2 as well)
    NOT_FOUND = 3  # the topic, dead letter, ticket, problem or service named does not exist
    UNREACHABLE = 4  # Kafka, a database or a service's API did not answer


class OpsError(Exception):
    """A failure the CLI reports in one line on stderr, exiting with `code`."""

    code = Exit.ERROR


class UsageError(OpsError):
    code = Exit.USAGE


class NotFound(OpsError):
    code = Exit.NOT_FOUND


class Unreachable(OpsError):
    code = Exit.UNREACHABLE
