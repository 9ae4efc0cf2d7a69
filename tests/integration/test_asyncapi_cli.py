"""The published AsyncAPI document is judged by the official AsyncAPI CLI, not by our reading of the spec."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from services.cli import asyncapi_document

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "deploy" / "tools" / "asyncapi.sh"
pytestmark = pytest.mark.integration


def _validate(document: Path) -> subprocess.CompletedProcess[str]:
    # The first run on a machine installs the pinned CLI (about 2 minutes); later runs take seconds.
    return subprocess.run([str(CHECK), str(document)], capture_output=True, text=True, timeout=900, check=False)


def test_the_asyncapi_document_is_valid_for_the_asyncapi_cli() -> None:
    done = _validate(ROOT / "docs" / "asyncapi.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid" in done.stdout


def test_the_asyncapi_cli_refuses_a_binding_typed_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(asyncapi_document().replace("retention.ms: 604800000", "retention.ms: '604800000'"))
    done = _validate(broken)
    assert done.returncode != 0
    assert "retention.ms" in done.stdout + done.stderr
