"""Every operationId of the four services is unique, readable and published: generated clients name their
methods after them, so a changed id breaks every client generated before.

`tests/unit/operation_ids.json` holds the published ids. After adding an operation (or deliberately renaming
one, which is a breaking change for clients: say so in CHANGELOG.md), regenerate it with
`.venv/bin/python -m tests.unit.test_operation_ids` and review the diff.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from services.embedded import SERVICES, build_embedded
from services.helpdesk.bootstrap import build_runtime as build_helpdesk
from services.helpdesk.bootstrap import create_app as create_helpdesk_app
from services.helpdesk.settings import HelpdeskSettings
from tests.factories import service_settings

PUBLISHED = Path(__file__).with_name("operation_ids.json")
# camelCase words, or the snake_case of an id a route sets itself; never a path or a method.
READABLE = re.compile(r"^[a-z][a-zA-Z0-9]*(_[a-z0-9]+)*$")
PATH_OR_METHOD = re.compile(r"(^|_)v\d+_|_(get|post|put|patch|delete)$")


def documents(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, from its app as served (no runtime started: nothing is read)."""
    _, _, apps = build_embedded([service_settings(name, data_dir=data_dir) for name in SERVICES])
    # An RT that is not configured: the bridge serves its API all the same.
    helpdesk = HelpdeskSettings(
        environment="test",
        data_dir=data_dir,
        database_url="sqlite+aiosqlite:///{data_dir}/{service}.db",
        bus="memory",
        rt_url=None,
        rt_token=None,
    )
    bridge = create_helpdesk_app(build_helpdesk(helpdesk, run_bridge=False), manage_runtime=False)
    return {name: app.openapi() for name, app in zip((*SERVICES, "helpdesk"), (*apps, bridge), strict=True)}


def operation_ids(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(`METHOD path`, operationId) of every operation, in the document's order."""
    return [
        (f"{method.upper()} {path}", operation["operationId"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def current(data_dir: Path) -> dict[str, dict[str, str]]:
    return {name: dict(sorted(operation_ids(doc))) for name, doc in documents(data_dir).items()}


def test_every_operation_id_is_unique_within_its_service(tmp_path: Path) -> None:
    repeated = {
        name: [i for i, n in Counter(i for _, i in operation_ids(doc)).items() if n > 1]
        for name, doc in documents(tmp_path).items()
    }
    assert repeated == {name: [] for name in repeated}


def test_every_operation_id_reads_as_a_name_not_a_path(tmp_path: Path) -> None:
    unreadable = [
        f"{name}: {operation} is {operation_id}"
        for name, ids in current(tmp_path).items()
        for operation, operation_id in ids.items()
        if not READABLE.match(operation_id) or PATH_OR_METHOD.search(operation_id)
    ]
    assert unreadable == []


def test_the_operation_ids_are_the_published_ones(tmp_path: Path) -> None:
    published = json.loads(PUBLISHED.read_text())
    ids = current(tmp_path)
    changed = [
        f"{name}: {operation}: {published.get(name, {}).get(operation)} -> {ids.get(name, {}).get(operation)}"
        for name in sorted(set(published) | set(ids))
        for operation in sorted(set(published.get(name, {})) | set(ids.get(name, {})))
        if published.get(name, {}).get(operation) != ids.get(name, {}).get(operation)
    ]
    assert changed == [], "\n".join(
        [
            "operationIds differ from tests/unit/operation_ids.json (None: no such operation); a rename breaks "
            "generated clients. Regenerate with `.venv/bin/python -m tests.unit.test_operation_ids` if intended:",
            *changed,
        ]
    )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as data_dir:
        PUBLISHED.write_text(json.dumps(current(Path(data_dir)), indent=2) + "\n")
    sys.stdout.write(f"wrote {PUBLISHED}\n")
