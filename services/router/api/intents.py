"""/v1/intents and /v1/classify: teaching the classifier and asking it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.api.deps import Now, Router, StaffReader, Supervisor, declared, idempotency_scope
from services.router.classification import service as intent_service
from services.router.classification.schemas import (
    Alternative,
    ClassifyIn,
    ClassifyOut,
    ExamplesAdded,
    ExamplesIn,
    IntentSummary,
    ModelRead,
    ProfileIn,
    ProfileRead,
)
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Limit, next_page_link

router = APIRouter(tags=["intents"])


class IntentPage(BaseModel):
    items: list[IntentSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")


@router.post(
    "/v1/intents/examples",
    response_model=ExamplesAdded,
    status_code=status.HTTP_201_CREATED,
    summary="Add labelled examples in bulk (then train)",
)
async def add_intent_examples(
    body: ExamplesIn, runtime: RuntimeDep, now: Now, principal: Supervisor, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        added = await intent_service.add_examples(
            session=session, examples=[(e.text, e.intent) for e in body.examples], source="import", now=now
        )
        await session.flush()
        counts = await intent_service.example_counts(session=session)
        return status.HTTP_201_CREATED, ExamplesAdded(added=added, intents=counts).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, "POST /v1/intents/examples"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )


@router.post(
    "/v1/intents/train",
    response_model=ModelRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Train a model on every example (in the background); poll the model until it is ready",
    responses=declared(
        409,
        "`training-in-progress`: a model is being trained; wait for it before starting another; or "
        "`not-enough-examples`: examples of too few intents to train on",
        slug="training-in-progress",
        detail="a model is being trained; wait for it before starting another",
    ),
)
async def train_intent_model(session: SessionDep, components: Router, now: Now, _: Supervisor) -> JSONResponse:
    model, examples = await intent_service.request_training(session=session, now=now)
    await session.commit()
    components.classifier.start_training(model_id=model.id, examples=examples)
    return JSONResponse(
        ModelRead.model_validate(model).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/v1/intents/models/{model.id}"},
    )


@router.get("/v1/intents/models/{model_id}", response_model=ModelRead, summary="A training run and its result")
async def get_intent_model(model_id: uuid.UUID, session: SessionDep, _: StaffReader) -> ModelRead:
    return ModelRead.model_validate(await intent_service.get_model(session=session, model_id=model_id))


@router.get(
    "/v1/intents", response_model=IntentPage, summary="Known intents by name, their examples and profiles, paginated"
)
async def list_intents(
    request: Request, response: Response, session: SessionDep, _: StaffReader, limit: Limit = 50, cursor: Cursor = None
) -> IntentPage:
    names, next_cursor = await intent_service.intent_page(session=session, limit=limit, cursor=cursor)
    counts = await intent_service.example_counts(session=session, intents=names)
    profiles = await intent_service.profiles(session=session, intents=names)
    next_page_link(request, response, next_cursor)
    return IntentPage(
        items=[
            IntentSummary(
                intent=name,
                examples=counts.get(name, 0),
                profile=ProfileRead.model_validate(profiles[name]) if name in profiles else None,
            )
            for name in names
        ],
        next_cursor=next_cursor,
    )


@router.put(
    "/v1/intents/{intent}/profile",
    response_model=ProfileRead,
    summary="What an intent needs: skills to route on, likely resolution, minimum priority",
)
async def set_intent_profile(
    body: ProfileIn,
    session: SessionDep,
    components: Router,
    now: Now,
    _: Supervisor,
    intent: str = Path(min_length=1, max_length=100, pattern=r"^[\w.:-]+$"),
) -> ProfileRead:
    profile = await intent_service.set_profile(
        session=session,
        intent=intent,
        required_skills={k.strip().lower(): v for k, v in body.required_skills.items()},
        likely_resolution=body.likely_resolution,
        priority=body.priority,
        now=now,
    )
    await session.commit()
    components.profiles.forget()
    return ProfileRead.model_validate(profile)


@router.post("/v1/classify", response_model=ClassifyOut, summary="The intent of any text, with a confidence")
async def classify_text(body: ClassifyIn, components: Router, _: StaffReader) -> ClassifyOut:
    await components.classifier.refresh()
    result = components.classifier.classify(body.text)
    return ClassifyOut(
        intent=result.intent,
        confidence=round(result.confidence, 4),
        alternatives=[Alternative(intent=name, score=score) for name, score in result.alternatives],
        model_id=components.classifier.model_id,
    )
