"""/v1/templates: the customer messages' wording, editable by the team."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import Ops, idempotency_scope
from services.notifier.customers import templates
from services.notifier.customers.schemas import TemplateList, TemplateName, TemplateRead, TemplateUpdate
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.get("", response_model=TemplateList, summary="Every message template in force")
async def list_templates(session: SessionDep, _: Ops) -> TemplateList:
    names: list[TemplateName] = ["acknowledgement", "resolution"]
    return TemplateList(items=[await templates.current(session=session, name=name) for name in names])


@router.get("/{name}", response_model=TemplateRead, summary="A message template in force")
async def get_template(name: TemplateName, session: SessionDep, _: Ops) -> TemplateRead:
    return await templates.current(session=session, name=name)


@router.put(
    "/{name}",
    response_model=TemplateRead,
    summary="Replace a template (refused, naming the field, if it does not render)",
)
async def put_template(
    name: TemplateName, body: TemplateUpdate, runtime: RuntimeDep, caller: Ops, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        return 200, (await templates.save(session=session, name=name, update=body)).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, f"PUT /v1/templates/{name}"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
