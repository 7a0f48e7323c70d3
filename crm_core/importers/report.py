"""What one file's import did: counts, bad rows, unknown columns."""
from __future__ import annotations

from dataclasses import dataclass, field

from crm_core.importers.texts import say


@dataclass(frozen=True, order=True)
class BadRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    kind: str
    file: str  # the file's name, as used in provenance and the audit log
    rows: int = 0  # data rows read (blank lines not counted)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # positions no longer in a re-imported report
    bad_rows: list[BadRow] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    applied: bool = False  # False: the file had bad rows and nothing was written
    changed_accounts: set[int] = field(default_factory=set)  # ids of accounts whose rows were written

    @property
    def skipped(self) -> int:
        return len(self.bad_rows) if self.applied else 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "removed": self.removed, "skipped": self.skipped}

    def summary(self) -> str:
        if not self.applied:
            return say("refused_rows", file=self.file, bad=len(self.bad_rows), rows=self.rows)
        text = say("summary", file=self.file, **self.counts())
        if self.removed:
            text += say("summary_removed", removed=self.removed)
        return text
