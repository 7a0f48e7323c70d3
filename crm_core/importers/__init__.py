"""Importers for the SPEC section 4 files: staff, clients, snapshots, positions, settlement,
assessments.

    report = import_file(session=session, kind="clients", path="clients.csv")
    session.commit()

The whole file is checked first; every bad row is reported with its line number. Nothing is
written from a file with bad rows unless `skip_invalid` is set, and then only its good rows.
Writes happen in the caller's transaction: commit it (one transaction per file), or roll
it back. A file refused as a whole (unreadable, no header, required columns missing) raises
ImportFileError. Re-importing the same file writes nothing.

`import_table` does the same for rows from any other source (the REST API hands it
`reader.object_table(json_array)`), with an `Origin` saying where they came from.
"""
from __future__ import annotations

import getpass
from pathlib import Path

from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.db import cipher_of, tz_of
from crm_core.importers import assessments, clients, positions, settlement, snapshots, staff
from crm_core.importers.job import Job, Origin, Progress
from crm_core.importers.reader import ImportFileError, Table, object_table, read_table
from crm_core.importers.report import BadRow, ImportReport
from crm_core.importers.texts import say

KINDS = {"staff": staff, "clients": clients, "snapshots": snapshots, "positions": positions,
         "settlement": settlement, "assessments": assessments}


def os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER, as in some containers
        return None


def import_file(*, session: Session, kind: str, path: str | Path, skip_invalid: bool = False,
                source_user: str | None = None, progress: Progress | None = None,
                suitability=None) -> ImportReport:
    """`suitability`: the SuitabilityRules an assessments file is checked against (default: the
    packaged suitability.yaml)."""
    module, path = _module(kind), Path(path)
    if hasattr(module, "read"):  # a document, not a table: a statement read into its records
        table = module.read(path)
    else:
        table = read_table(path, module.COLUMNS)
        missing = [col for col in module.REQUIRED if col not in table.columns]
        if missing:
            raise ImportFileError(say("missing_columns", columns=", ".join(missing)))
    origin = Origin(platform="import", name=path.name, user=source_user or os_user())
    report = import_table(session=session, kind=kind, table=table, origin=origin,
                          skip_invalid=skip_invalid, progress=progress, suitability=suitability)
    if report.changed:
        audit.record(session=session, actor="import", action=f"import.{kind}",
                     details={"file": report.file, **report.counts()}, source=origin.source())
    return report


def import_table(*, session: Session, kind: str, table: Table, origin: Origin, skip_invalid: bool = False,
                 progress: Progress | None = None, suitability=None) -> ImportReport:
    """Checks every row, then writes the good ones unless a row is bad and not `skip_invalid`.
    A row missing a required column is a bad row here. The caller audits the batch."""
    module = _module(kind)
    report = ImportReport(kind=kind, file=origin.name, rows=len(table.rows) + len(table.bad),
                          bad_rows=list(table.bad),
                          unknown_columns=[c for c in table.columns if c not in module.COLUMNS])
    job = Job(session=session, report=report, tz=tz_of(session), cipher=cipher_of(session),
              user=origin.user, progress=progress, origin=origin, suitability=suitability)
    plan = module.check(job, table.rows)
    report.bad_rows.sort()
    if report.bad_rows and not skip_invalid:
        return report
    module.apply(job, plan)
    job.analyze()
    report.applied = True
    session.flush()
    return report


def _module(kind: str):
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    return KINDS[kind]


__all__ = ["KINDS", "BadRow", "ImportFileError", "ImportReport", "Origin", "Table", "import_file",
           "import_table", "object_table"]
