"""The README's configuration tables are generated from the settings: they cannot silently go stale."""

from __future__ import annotations

from pathlib import Path

from services.cli import readme_with_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting_with_its_default() -> None:
    current = README.read_text()
    assert readme_with_settings(current) == current, "README configuration tables are stale: run `make docs`"
