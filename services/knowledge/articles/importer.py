"""Bulk import of an existing knowledge base from JSON lines, idempotent on each line's external id.

The whole file is validated before anything is written: one bad line is a 422 naming the line and
field, and nothing is imported. A line whose external id is known becomes a new version only when its
content differs, so importing the same export twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles import service as article_service
from services.knowledge.articles.models import Article, ArticleVersion
from services.knowledge.articles.schemas import ArticleImportLine, ImportedArticle, ImportReport
from shared.errors import FieldError, ProblemError

MAX_LINES = 5000


def parse_lines(payload: bytes) -> list[tuple[int, ArticleImportLine]]:
    """Every non-blank line as an article, or one 422 listing every bad line (`body.line[3].title`)."""
    parsed: list[tuple[int, ArticleImportLine]] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    lines = payload.splitlines()
    if len(lines) > MAX_LINES:
        raise _invalid([FieldError(field="body", message=f"more than {MAX_LINES} lines", type="too_long")])
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"body.line[{number}]"
        try:
            line = ArticleImportLine.model_validate(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            errors.append(FieldError(field=where, message=f"not JSON: {exc}", type="json_invalid"))
            continue
        except ValidationError as exc:
            errors += [
                FieldError(field=".".join([where, *map(str, e["loc"])]), message=e["msg"], type=e["type"])
                for e in exc.errors()
            ]
            continue
        if line.external_id in seen:
            message = f"external_id repeats line {seen[line.external_id]}"
            errors.append(FieldError(field=f"{where}.external_id", message=message, type="duplicate"))
        seen[line.external_id] = number
        parsed.append((number, line))
    if errors:
        raise _invalid(errors)
    if not parsed:
        raise _invalid([FieldError(field="body", message="no article lines", type="missing")])
    return parsed


async def import_articles(*, session: AsyncSession, lines: Sequence[tuple[int, ArticleImportLine]]) -> ImportReport:
    """Create unknown external ids, version changed ones, leave identical ones alone (caller commits)."""
    ids = [line.external_id for _, line in lines]
    known = {a.external_id: a for a in await session.scalars(select(Article).where(Article.external_id.in_(ids)))}
    results: list[ImportedArticle] = []
    for number, line in lines:
        article = known.get(line.external_id)
        if article is None:
            read = await article_service.create_article(session=session, request=line)
            outcome = "created"
        elif article.status == "archived":
            raise ProblemError(
                409,
                "article-archived",
                "Conflict with the current state",
                f"Line {number}: article {article.id} ({line.external_id}) is archived and cannot be re-imported.",
                errors=[FieldError(field=f"body.line[{number}].external_id", message="archived", type="archived")],
            )
        else:
            before = article.current_version
            latest = await session.get(ArticleVersion, (article.id, before))
            assert latest is not None
            changes = line.model_dump(include=set(article_service.CONTENT_FIELDS))
            read = await article_service.new_version(
                session=session, article=article, latest=latest, changes=changes, status=line.status
            )
            outcome = "unchanged" if read.latest_version == before else "updated"
        results.append(
            ImportedArticle(
                line=number,
                external_id=line.external_id,
                article_id=read.id,
                outcome=outcome,
                version=read.latest_version,
            )
        )
    count = {kind: sum(1 for r in results if r.outcome == kind) for kind in ("created", "updated", "unchanged")}
    return ImportReport(**count, articles=results)


def _invalid(errors: list[FieldError]) -> ProblemError:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return ProblemError(422, "validation-error", "Import is invalid; nothing was imported", detail, errors=errors)
