"""What every kind of import shares while it runs: the session, the report, provenance,
progress, and helpers for bulk look-ups and batched writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from crm_core.base import Source, provenance_columns
from crm_core.crypto import Cipher
from crm_core.importers.report import BadRow, ImportReport
from crm_core.importers.texts import say

CHUNK = 5000  # values per IN (...) look-up; well under SQLite's and PostgreSQL's bind limits
BATCH = 2000  # rows per INSERT/UPDATE call (SQLAlchemy splits further as the driver needs)
TICK = 1000
ANALYZE_AFTER = 1000  # rows written to a table before its planner statistics are refreshed


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class Origin:
    """Where a batch of rows comes from, as recorded in each written row's provenance: a file
    (`import`, rows numbered by line) or a REST API request (`api`, rows numbered by index)."""

    platform: str  # Source.platform: import | api
    name: str  # the file's name, or the API route
    user: str | None  # the OS user, or the API token's name
    message_id: str | None = None  # the API request's id
    row_word: str = "line"  # how reasons name another row: "duplicate of line 3"
    row_text: str = "{name}:{line}"  # a row's Source.text

    def source(self, line: int | None = None) -> Source:
        text = self.name if line is None else self.row_text.format(name=self.name, line=line)
        return Source(platform=self.platform, message_id=self.message_id, user=self.user, text=text)


@dataclass
class Job:
    session: Session
    report: ImportReport
    tz: ZoneInfo
    cipher: Cipher
    user: str | None
    progress: Progress | None = None
    origin: Origin | None = None  # None: a file named report.file, imported by `user`
    suitability: Any = None  # crm_core.suitability.SuitabilityRules for assessments (None: packaged)
    written: dict[str, int] = field(default_factory=dict)  # rows written, by table
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))  # rows after it are refused
    postgres: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.origin is None:
            self.origin = Origin(platform="import", name=self.report.file, user=self.user)
        self.postgres = self.session.get_bind().dialect.name == "postgresql"
        if self.postgres:
            # PostgreSQL (14+, release notes) hashes a long `IN (...)` list only when it is a
            # constant, i.e. in a custom plan. psycopg 3 prepares a statement run 5 times
            # (prepare_threshold), and the server's generic plan for it then compares each row
            # with every listed value: 7 minutes for re-importing 100,000 clients (measured
            # 2026-11, PostgreSQL 15). SET LOCAL ends with this transaction.
            self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    def analyze(self) -> None:
        """After a bulk write, refresh the planner's statistics of the tables written, so that
        the next queries (the next file's look-ups, a risk sweep) do not plan for empty tables."""
        if self.postgres:
            for table, rows in self.written.items():
                if rows >= ANALYZE_AFTER:
                    self.session.execute(text(f'ANALYZE "{table}"'))

    def bad(self, line: int, reasons: str | Sequence[str]) -> None:
        reason = reasons if isinstance(reasons, str) else "; ".join(reasons)
        self.report.bad_rows.append(BadRow(line, reason))

    def source(self, line: int) -> dict[str, Any]:
        """Provenance columns, as `Provenance.set_source` would set them, for bulk writes."""
        return provenance_columns(self.origin.source(line))

    def tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None and (done % TICK == 0 or done == total):
            self.progress(stage, done, total)

    def each(self, stage: str, items: Sequence) -> Iterator:
        total = len(items)
        for done, item in enumerate(items, start=1):
            yield item
            self.tick(stage, done, total)

    def lookup(self, make_query: Callable[[list], Any], values: Iterable) -> Iterator:
        """Runs `make_query(chunk)` over the distinct values in chunks; yields result rows."""
        distinct = list(dict.fromkeys(v for v in values if v is not None))
        for start in range(0, len(distinct), CHUNK):
            yield from self.session.execute(make_query(distinct[start:start + CHUNK]))

    def write(self, stage: str, statement, rows: list[dict], *, returning: bool = False) -> list:
        """Executes a bulk INSERT or UPDATE in batches; with `returning`, the rows it returns."""
        returned: list = []
        if rows:
            table = statement.table.name
            self.written[table] = self.written.get(table, 0) + len(rows)
        for start in range(0, len(rows), BATCH):
            result = self.session.execute(statement, rows[start:start + BATCH])
            if returning:
                returned.extend(result.all())
            if self.progress is not None:
                self.progress(stage, min(start + BATCH, len(rows)), len(rows))
        return returned

    def insert(self, stage: str, model, rows: list[dict]) -> list[int]:
        """Inserts rows of `model`; returns their new ids, in order."""
        if not rows:
            return []
        if not self.postgres:
            made = self.write(stage, insert(model).returning(model.id, sort_by_parameter_order=True), rows,
                              returning=True)
            return [row[0] for row in made]
        # On PostgreSQL, RETURNING turns each batch into one huge statement that psycopg parses
        # slowly; taking the ids from the table's sequence first lets a plain executemany run.
        table = model.__table__.name
        ids = list(self.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table, "n": len(rows)}))
        self.write(stage, insert(model), [dict(row, id=id_) for row, id_ in zip(rows, ids)])
        return ids


class FirstSeen:
    """Remembers where each key first appeared in the file, to report duplicates."""

    def __init__(self, column: str, row_word: str = "line"):
        self.column = column
        self.row_word = row_word
        self.lines: dict[Any, int] = {}

    def check(self, key: Any, line: int, *, value: object = None, what: str | None = None) -> str | None:
        """None the first time `key` is seen; afterwards the reason naming the first line."""
        if key is None:
            return None
        first = self.lines.setdefault(key, line)
        if first == line:
            return None
        if what is not None:
            return say("duplicate_key", what=what, line=first, row_word=self.row_word)
        return say("duplicate", column=self.column, value=key if value is None else value, line=first,
                   row_word=self.row_word)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
