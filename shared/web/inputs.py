"""Values every service reads from clients exactly as written, never as pydantic's lax mode would guess them.

Lax pydantic reads `0.5` or `"1700000000"` as a Unix time, a naive date-time as whatever zone the server
happens to be in, and `false` as the integer 0 (issue 20: a PATCH of `{"capacity": {"phone": false}}` stored
a capacity of 0). A client that sends one of those has a bug it should hear about: each is a 422 naming the
field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Strict
from pydantic_core import PydanticCustomError

# RFC 3339, the `date-time` the OpenAPI document names: a date, a time to the second, an offset or Z.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})")
DATE_TIME_MESSAGE = (
    "must be an ISO 8601 date-time with its time zone (RFC 3339), like 2026-11-24T08:00:00Z or "
    "2026-11-24T09:00:00+01:00; a number is not read as a Unix time"
)


def _written_as_a_date_time(value: Any) -> Any:
    if isinstance(value, datetime):  # built in code (an event's field), not read from a client
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise PydanticCustomError("datetime_format", DATE_TIME_MESSAGE)
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+05:00 is before the first moment Python holds in UTC
        raise ValueError("must fall between the years 1 and 9999 in UTC") from exc


# A moment with its time zone (a naive one could mean any of 26 hours; a number is not a date), in UTC as
# every column holds it: every date-time a service's API reads is one.
Instant = Annotated[AwareDatetime, BeforeValidator(_written_as_a_date_time), AfterValidator(_in_utc)]

# An integer of a request body as JSON writes one: `true`, `2.0` and `"2"` are 422s. Bound it where used.
Integer = Annotated[int, Strict()]
