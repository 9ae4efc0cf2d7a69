"""Reports as ops and the router read them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    channel: str
    text: str
    opened_at: datetime
    received_at: datetime
