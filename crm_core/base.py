"""Declarative base, naming convention and shared column groups."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_core.masking import masked
from crm_core.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@dataclass(frozen=True)
class Source:
    """Where a write came from: a chat message, an import file, the demo, the system."""

    platform: str  # wecom | dingtalk | slack | terminal | import | demo | system | api
    message_id: str | None = None
    user: str | None = None  # the platform's user id, or the OS user for imports
    text: str | None = None  # the raw message text, or the file name and line


class Provenance:
    """Columns recording where a chat-originated (or imported) write came from."""

    source_platform: Mapped[str | None] = mapped_column(String(16))
    source_message_id: Mapped[str | None] = mapped_column(String(128))
    source_user: Mapped[str | None] = mapped_column(String(128))
    source_text: Mapped[str | None] = mapped_column(Text)

    def set_source(self, source: Source | None) -> None:
        if source is None:
            return
        for column, value in provenance_columns(source).items():
            setattr(self, column, value)


def provenance_columns(source: Source) -> dict[str, str | None]:
    """The Provenance columns for `source`: the words with personal numbers masked (the numbers
    themselves are kept only encrypted, where the record needs them)."""
    return {"source_platform": source.platform, "source_message_id": source.message_id,
            "source_user": source.user, "source_text": masked(source.text)}
