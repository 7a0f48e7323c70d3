"""`brokerbot import staff|clients|snapshots|positions|settlement|assessments FILE... [--skip-invalid]`.

Each file is imported in a transaction of its own. Bad rows go to stderr as `FILE:LINE: reason`;
one summary line per imported file goes to stdout. A file with bad rows imports nothing and
makes the command fail, unless --skip-invalid is given. A settlement statement is refused or
imported as a whole: with --skip-invalid a refused statement is reported and skipped.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import typer

from bot.alerting import Alerting
from bot.app import App
from bot.cli.common import CommandError, app, make_app
from crm_core.base import utcnow
from crm_core.importers import KINDS, ImportFileError, import_file
from crm_core.importers.texts import say

import_app = typer.Typer(no_args_is_help=True,
                         help="Import staff, clients, margin snapshots, positions or suitability "
                              "assessments from CSV or XLSX files, or the broker's settlement statements.")
app.add_typer(import_app, name="import")

HELP = {
    "staff": "Staff: login,name,role,team,supervisor,wecom_userid,dingtalk_userid,slack_user_id,notify_via.",
    "clients": "Clients: name,account_no,phone,id_number,manager,risk_level,tags,birthday,client_type.",
    "snapshots": "Margin snapshots: account_no,timestamp,trading_day,...,balance,curr_margin,...,available.",
    "positions": "Positions: account_no,timestamp,exchange,instrument,direction,volume,...,hedge_flag.",
    "settlement": "Settlement statements (交易结算单, GBK or UTF-8 text): one margin snapshot and the "
                  "positions per statement.",
    "assessments": "Suitability questionnaire results: client,date,score,level,valid_until (client: a name "
                   "or account number; level and valid_until derived from suitability.yaml when empty).",
}
FILES = {"settlement": "Statement text files."}
WHOLE = {"settlement"}  # kinds whose files are refused as a whole: --skip-invalid skips them
EVALUATED = {"snapshots", "settlement"}  # new margin data is checked against the risk rules at once


def _err(line: str) -> None:
    typer.echo(line, err=True)


@contextmanager
def progress_bar(name: str) -> Iterator[Callable | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise (logs, pipes, tests)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(name, total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{name}: {stage}", completed=done, total=total)

        yield update


def import_files(bot: App, kind: str, paths: list[Path], *, skip_invalid: bool = False,
                 out: Callable[[str], None] = typer.echo, err: Callable[[str], None] = _err) -> list[str]:
    """Imports each file; prints bad rows and summaries; returns why files were not imported."""
    failures = []
    for path in paths:
        try:
            with progress_bar(path.name) as progress, bot.db.transaction() as session:
                report = import_file(session=session, kind=kind, path=path, skip_invalid=skip_invalid,
                                     progress=progress, suitability=bot.suitability)
        except ImportFileError as exc:
            skipped = skip_invalid and kind in WHOLE
            err(f"{path}: {exc}" + (" (skipped)" if skipped else ""))
            if not skipped:
                failures.append(f"{path.name} (refused)")
            continue
        if report.unknown_columns:
            err(f"{path}: warning: " + say("unknown_columns", columns=", ".join(report.unknown_columns)))
        for bad in report.bad_rows:
            err(f"{path}:{bad.line}: {bad.reason}")
        if report.applied:
            out(report.summary())
            if kind in EVALUATED and report.changed_accounts:
                evaluate_risk(bot, sorted(report.changed_accounts), out)
        else:
            err(report.summary())
            failures.append(f"{path.name} ({len(report.bad_rows)} bad rows)")
    return failures


def evaluate_risk(bot: App, account_ids: list[int], out: Callable[[str], None]) -> None:
    changes = Alerting(bot).evaluate(account_ids=account_ids, now=utcnow(), actor="import")
    if changes:
        counts: dict[str, int] = {}
        for change in changes:
            counts[change.event] = counts.get(change.event, 0) + 1
        out("risk alerts: " + ", ".join(f"{n} {event}" for event, n in counts.items())
            + " (queued; `brokerbot serve` delivers them)")


def _register(kind: str) -> None:
    def command(
        files: list[Path] = typer.Argument(..., metavar="FILE...",
                                           help=FILES.get(kind, "CSV (UTF-8) or XLSX files.")),
        skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                          help="Import the good rows of a file with bad rows; "
                                               "the bad ones are still listed."),
    ) -> None:
        bot = make_app()
        try:
            failures = import_files(bot, kind, files, skip_invalid=skip_invalid)
        finally:
            bot.close()
        if failures:
            raise CommandError(f"not imported: {', '.join(failures)}")

    command.__doc__ = HELP[kind]
    import_app.command(kind)(command)


for _kind in KINDS:
    _register(_kind)
