"""Risk ingestion and evaluation speed: margin snapshots for N accounts through the REST API with the
risk evaluation that follows each request, beside a bare bulk insert of the same rows.

    python benchmarks/risk_bench.py [--accounts 100000] [--cross 0.10] [--pg URL] [--no-sqlite]

For each database (a SQLite file; with --pg also fresh PostgreSQL schemas, dropped afterwards):
writes teams, managers (with WeCom ids), clients and one account each (not timed), and a
channels.yaml with a WeCom and a DingTalk group for every level, so evaluation writes every notice
it would write in production (nothing is sent: no dispatcher runs). Then times:

- bare insert: the margin_snapshots rows of batch A, then of batch B, with one SQLAlchemy core
  INSERT executemany each, into an empty copy of the database (same schema, same accounts);
- batch A: N rows through POST /api/v1/snapshots (in-process, FastAPI TestClient, batches of the
  API's maximum), each request importing its rows and evaluating the changed accounts
  (Service.after_ingest -> Alerting.evaluate); a --cross share of the accounts cross a level;
- batch B: N rows five minutes later: the accounts of A that crossed fall back (resolve), another
  --cross share crosses (opens);
- batch B again: nothing changes, nothing is evaluated;
- a full sweep (Alerting.evaluate() over every account) with nothing changed.

Prints rows per second for each, the evaluation's own time and share (rules and alert rows, and
the notices: outbox messages and evidence), alerts opened and resolved, outbox messages, and the
SQL statements run by the evaluation (an N+1 query would show as a count near the account count).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import event, func, insert, select  # noqa: E402

from benchmarks.risk_setup import (KEY, TZ, Book, choose_levels, database, seed, snapshot_rows,  # noqa: E402
                                   table_rows, write_config)
from bot.alerting import Alerting  # noqa: E402
from bot.app import App  # noqa: E402
from bot.http import create_app  # noqa: E402
from bot.service import Service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm_core import tokens  # noqa: E402
from crm_core.margin import MarginSnapshot  # noqa: E402
from crm_core.outbox import OutboxMessage  # noqa: E402

T_A = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, a Wednesday session
T_B = T_A + timedelta(minutes=5)
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing is sent in this benchmark


class Statements:
    """Counts SQL statements (an executemany is one) while `on`."""

    def __init__(self, engine):
        self.on, self.count = False, 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        if self.on:
            self.count += 1


class TimedAlerting(Alerting):
    """Alerting, with the time spent writing notices (announce) and what evaluations changed."""

    def __init__(self, app):
        super().__init__(app)
        self.notices = 0.0
        self.events: Counter = Counter()
        self.messages = 0

    def announce(self, session, changes, now):
        started = time.perf_counter()
        sent = super().announce(session, changes, now)
        self.notices += time.perf_counter() - started
        self.events.update(change.event for change in changes)
        self.messages += sent
        return sent


class TimedService(Service):
    def __init__(self, app: App):
        super().__init__(app, senders={})
        self.alerting = TimedAlerting(app)
        self.evaluating = 0.0
        self.statements = Statements(app.db.engine)

    def after_ingest(self, kind, account_ids, now):
        started = time.perf_counter()
        self.statements.on = True
        try:
            super().after_ingest(kind, account_ids, now)
        finally:
            self.statements.on = False
            self.evaluating += time.perf_counter() - started

    def reset(self) -> None:
        self.evaluating, self.alerting.notices, self.alerting.messages = 0.0, 0.0, 0
        self.alerting.events.clear()
        self.statements.count = 0


def settings(url: str, folder: Path, config: Path) -> Settings:
    # WeCom configured (pointing nowhere), so every manager has a direct channel as in production.
    return Settings(database_url=url, secret_key=KEY, data_dir=folder, timezone=TZ, config_dir=config,
                    wecom_corp_id="wwbenchcorp", wecom_secret="bench", wecom_agent_id="1000002",
                    wecom_api_base=NOWHERE)


def rate(rows: int, seconds: float) -> str:
    return f"{rows:>9,} rows in {seconds:6.2f} s = {rows / seconds:>9,.0f} rows/s"


def bare(url: str, folder: Path, config: Path, args, batches: list[list[dict]]) -> list[float]:
    app = App(settings(url, folder, config)).ready()
    try:
        book = seed(app.db, args.accounts, args.managers)
        out = []
        for rows in batches:
            values = table_rows(book, rows)
            started = time.perf_counter()
            with app.db.engine.begin() as conn:
                conn.execute(insert(MarginSnapshot.__table__), values)
            out.append(time.perf_counter() - started)
        return out
    finally:
        app.close()


def post_all(client: TestClient, token: str, rows: list[dict], size: int) -> tuple[float, float, Counter]:
    """(wall seconds, CPU seconds of this process, rows written by kind) for posting `rows`."""
    bodies = [json.dumps(rows[i:i + size]).encode() for i in range(0, len(rows), size)]
    written: Counter = Counter()
    cpu, started = time.process_time(), time.perf_counter()
    for body in bodies:
        answer = client.post("/api/v1/snapshots", content=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:500]}")
        data = answer.json()
        written.update(created=data["created"], updated=data["updated"], unchanged=data["unchanged"])
    return time.perf_counter() - started, time.process_time() - cpu, written


def through_api(url: str, folder: Path, config: Path, args, batches: list[tuple[str, list[dict]]]):
    service = TimedService(App(settings(url, folder, config)))
    try:
        book: Book = seed(service.app.db, args.accounts, args.managers)
        with service.app.db.transaction() as session:
            token = tokens.create_token(session=session, name="bench")
        client = TestClient(create_app(service))  # no `with`: no lifespan, so no scheduler, no dispatcher
        post_all(client, token, [], 1)  # warm-up: routes, token check
        size = service.app.settings.api_max_rows
        results = []
        for label, rows in batches:
            service.reset()
            seconds, cpu, written = post_all(client, token, rows, size)
            results.append((label, len(rows), seconds, cpu, service.evaluating, service.alerting.notices,
                            dict(service.alerting.events), service.alerting.messages, service.statements.count,
                            written))
        service.statements.count, service.statements.on = 0, True
        started = time.perf_counter()
        changes = service.alerting.evaluate(now=T_B + timedelta(minutes=5), actor="risk.sweep")
        sweep = time.perf_counter() - started
        service.statements.on = False
        with service.app.db.session() as session:
            outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
        return book, results, (sweep, len(changes), service.statements.count), outbox, size
    finally:
        service.app.close()


def bench(label: str, pg_url: str | None, args) -> None:
    crossing = round(args.accounts * args.cross)
    rng = random.Random(7)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="brokerbot-risk-bench-") as tmp:
        folder = Path(tmp)
        config = write_config(folder, NOWHERE, NOWHERE)
        with database(pg_url, folder, "bare") as url:
            # the book is the same in both databases (same seed), so its account numbers are known here
            levels_a = choose_levels(args.accounts, crossing, rng)
            normal = [i for i, level in enumerate(levels_a) if level is None]
            levels_b: list = [None] * args.accounts
            for i, level in zip(rng.sample(normal, crossing), choose_levels(crossing, crossing, rng)):
                levels_b[i] = level
            numbers = Book([f"9{i:07d}" for i in range(args.accounts)], [], [], [], [])
            batch_a = snapshot_rows(numbers, T_A, levels_a, 1)
            batch_b = snapshot_rows(numbers, T_B, levels_b, 2)
            bare_a, bare_b = bare(url, folder, config, args, [batch_a, batch_b])
        with database(pg_url, folder, "api") as url:
            book, results, sweep, outbox, size = through_api(url, folder, config, args, [
                ("batch A (empty table)", batch_a), ("batch B (5 min later)", batch_b),
                ("batch B again (no change)", batch_b)])
    n = args.accounts
    print(f"\n== {label}: {n:,} accounts ({args.managers} managers in {len(book.teams)} teams), "
          f"{crossing:,} crossing a level per batch ({args.cross:.0%}); API batches of "
          f"{size:,} rows ==")
    print(f"bare INSERT executemany, batch A (empty copy)   : {rate(n, bare_a)}")
    print(f"bare INSERT executemany, batch B (on top of A)  : {rate(n, bare_b)}")
    for name, rows, seconds, cpu, evaluating, notices, events, messages, statements, written in results:
        share = evaluating / seconds if seconds else 0
        print(f"REST API + evaluation, {name:<26}: {rate(rows, seconds)}; CPU of this process {cpu:.1f} s")
        print(f"    written {dict(written)}; evaluation {evaluating:.2f} s = {share:.0%} of it "
              f"(rules + alert rows {evaluating - notices:.2f} s, notices {notices:.2f} s); ingest alone "
              f"{seconds - evaluating:.2f} s = {rows / max(seconds - evaluating, 1e-9):,.0f} rows/s")
        print(f"    alerts: {events.get('opened', 0):,} opened, {events.get('escalated', 0):,} escalated, "
              f"{events.get('resolved', 0):,} resolved; {messages} outbox messages; "
              f"{statements} SQL statements in the evaluation")
    a_seconds, a_evaluating = results[0][2], results[0][4]
    print(f"batch A through the API takes {a_seconds / bare_a:.1f}x the bare insert "
          f"({a_seconds - a_evaluating:.2f} s without the evaluation = {(a_seconds - a_evaluating) / bare_a:.1f}x)")
    seconds, changed, statements = sweep
    print(f"full sweep, nothing changed                     : {n:,} accounts in {seconds:6.2f} s = "
          f"{n / seconds:>9,.0f} accounts/s; {changed} changes, {statements} SQL statements")
    print(f"outbox rows at the end: {outbox}; load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} cores; other programs' load slows every figure here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--cross", type=float, default=0.10, help="share of the accounts crossing a level per batch")
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL database (in schemas of its own)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    args = parser.parse_args()
    if not args.no_sqlite:
        bench("SQLite", None, args)
    if args.pg:
        bench("PostgreSQL", args.pg, args)


if __name__ == "__main__":
    main()
