"""The README's configuration table is generated from the settings: it cannot silently go stale."""

from __future__ import annotations

from pathlib import Path

from services.cli import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting_with_its_default() -> None:
    assert settings_table() in README.read_text(), "README configuration table is stale: paste `firstcall settings`"
