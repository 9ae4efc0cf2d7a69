"""docs/router.md's table of which scope may call which operation, generated from the routes themselves.

Each route's key check is a dependency registered with the scopes it admits (`api.deps.ADMITTED`), so the
table is read off the code; `python -m services.router.access.scope_table` writes it into the docs, and
tests check both that the docs hold the current table and that every operation answers as it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.router.api.deps import ADMITTED
from services.router.bootstrap import API_ROUTERS
from shared.web.auth import Scope

SCOPES = (Scope.CONTACT_CENTER, Scope.AGENT, Scope.SUPERVISOR, Scope.OPS, Scope.ADMIN, Scope.SERVICE)
BEGIN = "<!-- scope table: generated from the code by `python -m services.router.access.scope_table` -->"
END = "<!-- end of the scope table -->"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "router.md"
ALLOWED, REFUSED = "yes", "-"
# Every service's probes (shared/web/app.py), which orchestrators and Prometheus call without a key.
PROBES = ("GET /healthz", "GET /readyz", "GET /metrics")


def admitted_scopes(routers: Iterable[APIRouter]) -> dict[str, frozenset[Scope] | None]:
    """`METHOD /path` -> the scopes admitted (None: no key needed), for every documented operation."""
    table: dict[str, frozenset[Scope] | None] = dict.fromkeys(PROBES)
    for api_router in routers:
        for route in api_router.routes:
            if not (isinstance(route, APIRoute) and route.include_in_schema):
                continue
            scopes = _admitted(route.dependant)
            for method in sorted(route.methods or ()):
                table[f"{method} {route.path}"] = scopes
    return table


def _admitted(dependant: Dependant) -> frozenset[Scope] | None:
    """Every key check on the way must pass, so a route admits the scopes all of them admit."""
    found: frozenset[Scope] | None = None
    for dependency in dependant.dependencies:
        own = ADMITTED.get(dependency.call) if dependency.call is not None else None
        for scopes in (own, _admitted(dependency)):
            if scopes is not None:
                found = scopes if found is None else found & scopes
    return found


def markdown(table: Mapping[str, frozenset[Scope] | None]) -> str:
    """The table as Markdown, one row per operation in path order."""
    lines = [
        "| operation | " + " | ".join(f"`{scope.value}`" for scope in SCOPES) + " |",
        "| --- |" + " :---: |" * len(SCOPES),
    ]
    for operation in sorted(table, key=lambda op: (op.split(" ", 1)[1], op)):
        scopes = table[operation]
        cells = ["no key" if scopes is None else ALLOWED if s in scopes else REFUSED for s in SCOPES]
        lines.append(f"| `{operation}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse(document: str) -> dict[str, frozenset[Scope] | None]:
    """The table as docs/router.md states it (what a reader is promised)."""
    block = document.split(BEGIN, 1)[1].split(END, 1)[0]
    table: dict[str, frozenset[Scope] | None] = {}
    for row in re.findall(r"^\| `([A-Z]+ [^`]+)` \|(.*)\|$", block, flags=re.MULTILINE):
        operation, cells = row[0], [cell.strip() for cell in row[1].split("|")]
        if "no key" in cells:
            table[operation] = None
        else:
            table[operation] = frozenset(s for s, cell in zip(SCOPES, cells, strict=True) if cell == ALLOWED)
    return table


def with_table(document: str, table: Mapping[str, frozenset[Scope] | None]) -> str:
    """`document` with the text between the markers replaced by the current table."""
    before, rest = document.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{BEGIN}\n{markdown(table)}\n{END}{after}"


def main() -> None:
    DOCS.write_text(with_table(DOCS.read_text(), admitted_scopes(API_ROUTERS)))


if __name__ == "__main__":
    main()
