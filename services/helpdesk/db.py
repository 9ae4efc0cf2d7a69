"""The bridge's ORM base: its own metadata, so its tables never mix with another service's."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
