"""Importers for the SPEC section 4 files: staff, clients, snapshots, positions.

    report = import_file(session=session, kind="clients", path="clients.csv")
    session.commit()

The whole file is checked first; every bad row is reported with its line number. Nothing is
written from a file with bad rows unless `skip_invalid` is set, and then only its good rows.
Writes happen in the caller's transaction: commit it (one transaction per file), or roll
it back. A file refused as a whole (unreadable, no header, required columns missing) raises
ImportFileError. Re-importing the same file writes nothing.
"""
from __future__ import annotations

import getpass
from pathlib import Path

from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.base import Source
from crm_core.db import cipher_of, tz_of
from crm_core.importers import clients, positions, snapshots, staff
from crm_core.importers.job import Job, Progress
from crm_core.importers.reader import ImportFileError, read_table
from crm_core.importers.report import BadRow, ImportReport
from crm_core.importers.texts import say

KINDS = {"staff": staff, "clients": clients, "snapshots": snapshots, "positions": positions}


def os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER, as in some containers
        return None


def import_file(*, session: Session, kind: str, path: str | Path, skip_invalid: bool = False,
                source_user: str | None = None, progress: Progress | None = None) -> ImportReport:
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    module, path = KINDS[kind], Path(path)
    table = read_table(path, module.COLUMNS)
    missing = [col for col in module.REQUIRED if col not in table.columns]
    if missing:
        raise ImportFileError(say("missing_columns", columns=", ".join(missing)))
    report = ImportReport(kind=kind, file=path.name, rows=len(table.rows) + len(table.bad),
                          bad_rows=list(table.bad),
                          unknown_columns=[c for c in table.columns if c not in module.COLUMNS])
    job = Job(session=session, report=report, tz=tz_of(session), cipher=cipher_of(session),
              user=source_user or os_user(), progress=progress)
    plan = module.check(job, table.rows)
    report.bad_rows.sort()
    if report.bad_rows and not skip_invalid:
        return report
    module.apply(job, plan)
    job.analyze()
    report.applied = True
    if report.changed:
        audit.record(session=session, actor="import", action=f"import.{kind}",
                     details={"file": report.file, **report.counts()},
                     source=Source(platform="import", user=job.user, text=report.file))
    session.flush()
    return report


__all__ = ["KINDS", "BadRow", "ImportFileError", "ImportReport", "import_file"]
