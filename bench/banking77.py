"""The vendored BANKING77 data (bench/data/banking77, CC BY 4.0): read by the intents and ticket_open benchmarks.

A module of its own so that reading the texts imports nothing heavy (ticket_open's load generator imports it).
"""

from __future__ import annotations

import csv
from pathlib import Path

DEFAULT_DATA = Path(__file__).parent / "data" / "banking77"
Examples = list[tuple[str, str]]


def load_split(path: Path) -> Examples:
    """(text, intent) rows of one split's CSV (columns text, category)."""
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["text"], row["category"]) for row in csv.DictReader(file)]
