"""GET /v1/customers/{id}/data-key: the key that opens a customer's sealed event fields, for the services.

Knowledge, the notifier and the helpdesk bridge ask once per customer and keep it briefly in memory
(shared/data_keys.py). Only a `service` key (or admin) may ask; after the customer's erasure the answer is
410 and the sealed fields on Kafka stay closed (decision 0031).
"""

from __future__ import annotations

import base64
import uuid

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from services.router.api.deps import Router, ServiceOnly, declared
from services.router.data_keys import service as data_keys_service
from shared.sealing import key_encryption_key
from shared.web.app import SessionDep

router = APIRouter(tags=["customers"])


class DataKeyRead(BaseModel):
    customer_id: uuid.UUID
    algorithm: str = Field("AES-256-GCM", description="what the key opens `fcs1:` values with")
    key: str = Field(description="the 256-bit data key, base64; never log or store it in clear")


@router.get(
    "/v1/customers/{customer_id}/data-key",
    response_model=DataKeyRead,
    summary="A customer's data key, which opens the personal fields sealed in their events (services only)",
    responses={
        **declared(404, "No key was ever made for this customer", slug="not-found", detail="No data key ..."),
        **declared(
            410,
            "`customer-erased`: the customer was erased and their key destroyed",
            slug="customer-erased",
            detail="customer 9b2f... was erased; their data key is gone",
        ),
    },
)
async def get_customer_data_key(
    customer_id: uuid.UUID, session: SessionDep, components: Router, response: Response, _: ServiceOnly
) -> DataKeyRead:
    secret = components.settings.secret_key.get_secret_value()
    key = await data_keys_service.key_for_service(
        session=session, customer_id=customer_id, kek=key_encryption_key(secret), secret=secret
    )
    response.headers["Cache-Control"] = "no-store"
    return DataKeyRead(customer_id=customer_id, key=base64.b64encode(key).decode("ascii"))
