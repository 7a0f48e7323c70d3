"""A risk storm, watched from outside: 10,000 accounts cross a level in one REST API batch, and the
real `brokerbot serve` delivers the alerts to fake WeCom and DingTalk servers; then the same with a
kill -9 while the outbox is being delivered, and a restart.

    python benchmarks/risk_storm.py [--crossing 10000] [--normal 2000] [--managers 50] [--latency 0.1]
                                    [--requests 1] [--pg URL] [--no-sqlite] [--no-kill] [--kill-after 1]

For each database (a SQLite file; with --pg also a fresh PostgreSQL schema, dropped afterwards) and
each run (plain; then kill -9): teams with supervisors, --managers managers with WeCom ids and a risk
officer; one account per client; a channels.yaml with a WeCom and a signed DingTalk group robot for
every level (tests/fakes: FakeWeCom app API and robots, FakeDingTalk robots; both enforce the
platforms' limits: 30 messages a minute per person, 20 a minute per robot; each answer waits
--latency seconds, as a real platform takes its time). `brokerbot serve` runs in a subprocess with a
token from `brokerbot token create`. A first batch brings every account in at a normal level; the
second (split into --requests requests) has --crossing accounts at warning, margin call or force
close (60/30/10%) and --normal ones still normal.

An alert counts as delivered when every notice the database records for it (alert_notifications)
rides an outbox row that is `delivered`, as itself or inside a digest; a digest names only the
worst accounts, so the fakes are cross-checked by counts: per recipient, the alerts its messages
announce (digest heads "N 条" plus single alerts) against the notices the database records.

Prints: the batch's response time; time until every alert is delivered, and per alert (p50, max,
how many within 60 s); the messages each robot received in its busiest 60 s and what the fakes
refused; each person's busiest minute; and for the kill run: the outbox at the kill, the time to
recover after the restart (rows the killed dispatcher had leased are taken back at start-up),
duplicates the fakes saw, and alerts without delivered notices (lost).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.risk_setup import (KEY, LEVELS, TZ, Book, choose_levels, database, ding_secrets,  # noqa: E402
                                   seed, snapshot_rows, window_max, write_config)
from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm_core.risk.alerts import Alert, AlertNotification  # noqa: E402
from crm_core.outbox import OutboxMessage  # noqa: E402
from tests.fakes.dingtalk_server import FakeDingTalk  # noqa: E402
from tests.fakes.wecom_server import FakeWeCom  # noqa: E402

CORP, AGENT = "wwstormcorp0001", 1000002
TOKEN, AES_KEY = "brokerbotStormToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
# The acceptance (issue 5): every alert delivered within 60 s; no robot over 20 messages a minute
# (WeCom and DingTalk group robots, STYLE.md), no person over 30 (WeCom app messages).
DEADLINE, ROBOT_MINUTE, PERSON_MINUTE = 60.0, 20, 30
LEASE = 120.0  # notifiers.outbox.Dispatcher's default lease on a claimed row
DIGEST = re.compile(r"【风险预警汇总】(\d+) 条")
SINGLE = re.compile(r"^【[^】]*】#\d+", re.M)


class TimedDingTalk(FakeDingTalk):
    """FakeDingTalk, remembering every robot post with its time and answer (the fake keeps only the
    last minute's send times)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.robot_log: list[tuple[str, float, int, str]] = []  # (access_token, at, errcode, text)

    def _webhook(self, query: dict, body: dict) -> tuple[int, dict]:
        status, answer = super()._webhook(query, body)
        text = (body.get("text") or {}).get("content", "")
        self.robot_log.append((query.get("access_token", ""), self.clock(), answer.get("errcode", -1), text))
        return status, answer


def slow(fake, seconds: float) -> None:
    """Every answer of the fake waits `seconds` first (a real platform is not on loopback)."""
    if seconds <= 0:
        return
    base = fake.server.RequestHandlerClass

    class Slow(base):
        def _serve(self) -> None:
            time.sleep(seconds)
            super()._serve()

        do_GET = do_POST = do_PUT = _serve

    fake.server.RequestHandlerClass = Slow


def quiet(fake) -> None:
    """A connection the killed service left behind is counted, not printed as a traceback."""
    fake.resets = 0

    def handle_error(request, address) -> None:
        fake.resets += 1

    fake.server.handle_error = handle_error


# -- the service ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(url: str, folder: Path, config: Path, wecom: FakeWeCom) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    env.update(BROKERBOT_DATABASE_URL=url, BROKERBOT_SECRET_KEY=KEY, BROKERBOT_DATA_DIR=str(folder),
               BROKERBOT_TIMEZONE=TZ, BROKERBOT_CONFIG_DIR=str(config), BROKERBOT_WECOM_CORP_ID=CORP,
               BROKERBOT_WECOM_AGENT_ID=str(AGENT), BROKERBOT_WECOM_SECRET=wecom.secret,
               BROKERBOT_WECOM_TOKEN=TOKEN, BROKERBOT_WECOM_AES_KEY=AES_KEY,
               BROKERBOT_WECOM_API_BASE=wecom.base_url, PYTHONIOENCODING="utf-8")
    return env


class Serve:
    """`brokerbot serve` in a subprocess (its output in serve.out), started again after a kill."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env, self.folder, self.port = env, folder, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Starts the service; returns the seconds until /healthz answered."""
        started = time.monotonic()
        with open(self.folder / "serve.out", "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                                          "--port", str(self.port)], cwd=self.folder, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None or time.monotonic() - started > 60:
                raise RuntimeError("the service did not start:\n" + (self.folder / "serve.out").read_text()[-3000:])
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def api_token(env: dict[str, str], folder: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", "token", "create", "--name", "storm-bench"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"brokerbot token create failed: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def post(base: str, token: str, rows: list[dict]) -> dict:
    answer = httpx.post(f"{base}/api/v1/snapshots", content=json.dumps(rows).encode(), timeout=600,
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    if answer.status_code != 200:
        raise RuntimeError(f"POST /api/v1/snapshots: HTTP {answer.status_code} {answer.text[:500]}")
    return answer.json()


# -- what the database says -----------------------------------------------------------------------
def outbox_status(app: App) -> Counter:
    with app.db.session() as session:
        rows = session.execute(select(OutboxMessage.status, func.count()).where(OutboxMessage.purpose == "alert")
                               .group_by(OutboxMessage.status)).all()
    return Counter({getattr(status, "value", status): n for status, n in rows})


@dataclass
class Evidence:
    alerts: dict[int, tuple[str, int]]  # alert id -> (level, account id)
    # alert id -> recipient -> (outbox status, delivered_at, outbox id)
    notices: dict[int, dict[str, tuple[str, datetime | None, int]]]
    messages: int  # outbox rows


def evidence(app: App) -> Evidence:
    with app.db.session() as session:
        alerts = {id_: (getattr(level, "value", level), account) for id_, level, account in session.execute(
            select(Alert.id, Alert.level, Alert.account_id))}
        notices: dict[int, dict] = defaultdict(dict)
        rows = session.execute(
            select(AlertNotification.alert_id, AlertNotification.recipient, OutboxMessage.status,
                   OutboxMessage.delivered_at, OutboxMessage.id)
            .join(OutboxMessage, OutboxMessage.id == AlertNotification.outbox_id))
        for alert_id, recipient, status, delivered, outbox_id in rows:
            notices[alert_id][recipient] = (getattr(status, "value", status), delivered, outbox_id)
        messages = session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.purpose == "alert"))
    return Evidence(alerts, notices, messages)


# -- what the fakes received ----------------------------------------------------------------------
def told(text: str) -> int:
    """How many alerts a message announces: the counts of its digest heads plus its single alerts."""
    return sum(int(n) for n in DIGEST.findall(text)) + len(SINGLE.findall(text))


def app_text(body: dict) -> str:
    if body.get("msgtype") == "template_card":
        card = body["template_card"]
        return f"{card.get('main_title', {}).get('title', '')}\n{card.get('sub_title_text', '')}"
    return (body.get(body.get("msgtype", "text")) or {}).get("content", "")


@dataclass
class Received:
    told: Counter = field(default_factory=Counter)  # recipient key (as in alert_notifications) -> alerts announced
    arrivals: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))  # (at, told)
    robot_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    person_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    posts: Counter = field(default_factory=Counter)  # wecom app | wecom robots | dingtalk robots
    refused: Counter = field(default_factory=Counter)
    dropped: int = 0
    last: float = 0.0

    def add(self, recipient: str, at: float, alerts: int) -> None:
        self.told[recipient] += alerts
        self.arrivals[recipient].append((at, alerts))

    def complete_at(self, recipient: str, expected: int) -> float | None:
        """When the messages to `recipient` had announced `expected` alerts."""
        seen = 0
        for at, alerts in sorted(self.arrivals.get(recipient, [])):
            seen += alerts
            if seen >= expected:
                return at
        return None


def received(wecom: FakeWeCom, ding: TimedDingTalk) -> Received:
    out = Received()
    with wecom.lock:
        sent, dropped = list(wecom.sent), list(wecom.dropped)
        hooks = {key: list(messages) for key, messages in wecom.webhook_messages.items()}
        hook_calls = sum(1 for _, path in wecom.requests if path == "/cgi-bin/webhook/send")
    with ding._lock:
        log = list(ding.robot_log)
    for delivery in sent + dropped:
        out.person_times[delivery.user].append(delivery.at)
    for delivery in sent:
        out.add(delivery.user, delivery.at, told(app_text(delivery.body)))
        out.posts["WeCom app messages"] += 1
        out.last = max(out.last, delivery.at)
    out.dropped = len(dropped)
    for key, messages in hooks.items():
        for message in messages:
            out.add(f"#{key}", message["at"], told(message["markdown"]["content"]))
            out.robot_times[f"#{key}"].append(message["at"])
            out.posts["WeCom robot posts"] += 1
            out.last = max(out.last, message["at"])
    out.refused["WeCom robots (45009 and others)"] = hook_calls - out.posts["WeCom robot posts"]
    for token, at, code, text in log:
        if code == 0:
            out.add(f"#{token}", at, told(text))
            out.robot_times[f"#{token}"].append(at)
            out.posts["DingTalk robot posts"] += 1
            out.last = max(out.last, at)
        else:
            out.refused[f"DingTalk robots ({code})"] += 1
    return out


def log_lines(folder: Path) -> tuple[Counter, Counter]:
    """Lines per level in the service log, and the WARNING and ERROR messages (digits as N, 100 characters)."""
    levels, messages = Counter(), Counter()
    path = folder / "brokerbot.log"
    for line in (path.read_text(encoding="utf-8").splitlines() if path.exists() else []):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        levels[entry.get("level", "?")] += 1
        if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            messages[f"{entry['level']} {re.sub(r'[0-9]+', 'N', entry.get('msg', ''))[:100]}"] += 1
    return levels, messages


# -- one run --------------------------------------------------------------------------------------
@contextmanager
def fakes(latency: float):
    with FakeWeCom(corp_id=CORP, agent_id=AGENT, clock=time.time) as wecom, \
            TimedDingTalk(webhooks=ding_secrets()) as ding:
        for fake in (wecom, ding):
            slow(fake, latency)
            quiet(fake)
        yield wecom, ding


def wait_delivered(app: App, expected: int, timeout: float) -> tuple[float | None, Counter]:
    """Polls the outbox until every alert message is delivered (or failed); (when, last status)."""
    deadline = time.time() + timeout
    while True:
        status = outbox_status(app)
        if sum(status.values()) >= expected and not status["pending"] and not status["sending"]:
            return time.time(), status
        if time.time() > deadline:
            return None, status
        time.sleep(0.2)


def storm(label: str, pg_url: str | None, args, kill: bool) -> None:
    crossing, total = args.crossing, args.crossing + args.normal
    with tempfile.TemporaryDirectory(prefix="brokerbot-risk-storm-") as tmp, fakes(args.latency) as (wecom, ding):
        folder = Path(tmp)
        config = write_config(folder, wecom.base_url, ding.base_url)
        with database(pg_url, folder, "storm") as url:
            app = App(Settings(database_url=url, secret_key=KEY, data_dir=folder, timezone=TZ,
                               config_dir=config)).ready()
            try:
                book: Book = seed(app.db, total, args.managers)
                env = environment(url, folder, config, wecom)
                token = api_token(env, folder)
                service = Serve(env, folder)
                service.start()
                try:
                    report = run(app, book, service, token, wecom, ding, args, kill)
                finally:
                    service.stop()
                ev = evidence(app)
            finally:
                app.close()
        got = received(wecom, ding)
        levels, warnings = log_lines(folder)
    show(label, args, kill, book, report, ev, got, levels, warnings, crossing, total)


@dataclass
class Report:
    post_seconds: float = 0.0
    accepted: float = 0.0  # time.time() when the last crossing request was answered
    done: float | None = None
    status: Counter = field(default_factory=Counter)
    killed_at: float | None = None
    killed_seen: int = 0  # messages the fakes had received at the kill
    at_kill: Counter = field(default_factory=Counter)
    restart_seconds: float = 0.0
    restarted: float = 0.0
    levels: Counter = field(default_factory=Counter)


def run(app: App, book: Book, service: Serve, token: str, wecom: FakeWeCom, ding: TimedDingTalk, args,
        kill: bool) -> Report:
    rng = random.Random(11)
    total = len(book.account_nos)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    post(service.base, token, snapshot_rows(book, now - timedelta(minutes=10), [None] * total, 1))
    if outbox_status(app):
        raise RuntimeError("the normal batch raised alerts")
    levels = choose_levels(total, args.crossing, rng)
    rows = snapshot_rows(book, now, levels, 2)
    report = Report(levels=Counter(level for level in levels if level))
    size = -(-len(rows) // args.requests)
    started = time.perf_counter()
    for start in range(0, len(rows), size):
        post(service.base, token, rows[start:start + size])
    report.post_seconds = time.perf_counter() - started
    report.accepted = time.time()
    expected = sum(outbox_status(app).values())
    if kill:
        while True:
            seen = len(wecom.sent) + len(wecom.dropped) + sum(len(m) for m in wecom.webhook_messages.values()) \
                + len(ding.robot_log)
            if seen >= args.kill_after or time.time() - report.accepted > 30:
                break
            time.sleep(0.005)
        service.kill9()
        report.killed_at, report.killed_seen = time.time(), seen
        report.at_kill = outbox_status(app)
        report.restart_seconds = service.start()
        report.restarted = time.time()
    report.done, report.status = wait_delivered(app, expected, args.timeout)
    time.sleep(1.0)  # a late duplicate would show now
    return report


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def show(label: str, args, kill: bool, book: Book, report: Report, ev: Evidence, got: Received, levels: Counter,
         warnings: Counter, crossing: int, total: int) -> None:
    mix = ", ".join(f"{report.levels[level]:,} {level}" for level in LEVELS)
    print(f"\n== {label}{', kill -9 during delivery' if kill else ''}: {crossing:,} of {total:,} accounts cross "
          f"({mix}) in {args.requests} request(s); {args.managers} managers; fakes answer after "
          f"{args.latency * 1000:.0f} ms ==")
    notices = sum(len(n) for n in ev.notices.values())
    print(f"batch accepted         : HTTP 200 after {report.post_seconds:.2f} s (import + evaluation); "
          f"{len(ev.alerts):,} alerts, {notices:,} notices in {ev.messages:,} outbox messages")
    expected = Counter()
    for recipients in ev.notices.values():
        expected.update(recipients.keys())
    # An alert is delivered when all its notices are. When, seen from outside: a recipient's messages
    # arrive in the order they were queued (the dispatcher sends due rows by id; merged rows keep it),
    # so the notice in outbox row k has arrived once the recipient's messages announced as many alerts
    # as its rows up to k hold; the alert's time is the latest of its recipients'. The outbox's
    # delivered_at (the evidence) is checked beside it.
    per_row: Counter = Counter()
    for recipients in ev.notices.values():
        per_row.update((key, outbox_id) for key, (_, _, outbox_id) in recipients.items())
    complete, running = {}, Counter()
    for key, outbox_id in sorted(per_row):
        running[key] += per_row[key, outbox_id]
        complete[key, outbox_id] = got.complete_at(key, running[key])
    accepted = datetime.fromtimestamp(report.accepted, timezone.utc)
    outside, recorded, undelivered, short, unseen = [], [], 0, 0, 0
    for alert_id in ev.alerts:
        recipients = ev.notices.get(alert_id, {})
        if len(recipients) < 3:  # its manager, the WeCom and the DingTalk group of its level
            short += 1
        if not recipients or any(status != "delivered" for status, _, _ in recipients.values()):
            undelivered += 1
        else:
            recorded.append((max(d for _, d, _ in recipients.values()) - accepted).total_seconds())
        arrivals = [complete[key, outbox_id] for key, (_, _, outbox_id) in recipients.items()]
        if not recipients or None in arrivals:
            unseen += 1
        else:
            outside.append(max(arrivals) - report.accepted)
    if report.done is None:
        print(f"all delivered          : NOT within {args.timeout:.0f} s; outbox {dict(report.status)}")
    else:
        print(f"all delivered          : outbox all delivered {report.done - report.accepted:.1f} s after acceptance "
              f"(polled); the fakes' last receipt {got.last - report.accepted:.1f} s; outbox {dict(report.status)}")
    within = sum(1 for w in outside if w <= DEADLINE)
    sent = sum(1 for w in outside if w + report.post_seconds <= DEADLINE)
    print(f"per alert (fakes)      : {within:,} of {len(ev.alerts):,} alerts fully announced within {DEADLINE:.0f} s "
          f"of acceptance ({sent:,} within {DEADLINE:.0f} s of sending the batch); p50 {pct(outside, 0.5):.1f} s, "
          f"max {max(outside, default=float('nan')):.1f} s after acceptance; not fully announced: {unseen}")
    print(f"per alert (evidence)   : outbox delivered_at p50 {pct(recorded, 0.5):.1f} s, max "
          f"{max(recorded, default=float('nan')):.1f} s after acceptance; alerts with an undelivered notice: "
          f"{undelivered}; with fewer than 3 notices: {short}")
    wrong = {k: (got.told[k], expected[k]) for k in set(expected) | set(got.told) if got.told[k] != expected[k]}
    print(f"fakes received         : {dict(got.posts)}; alerts announced = notices recorded for "
          f"{len(expected) - len([k for k in wrong if k in expected])} of {len(expected)} recipients"
          + (f"; differing (received, recorded): {dict(sorted(wrong.items())[:8])}" if wrong else ""))
    robots = {k: window_max(v) for k, v in sorted(got.robot_times.items())}
    print(f"robots                 : busiest 60 s per robot {robots} (limit {ROBOT_MINUTE}); refused by the "
          f"fakes: {dict(got.refused)}")
    people = [window_max(v) for v in got.person_times.values()]
    print(f"people                 : {len(people)} received; busiest 60 s of any person: {max(people, default=0)} "
          f"(limit {PERSON_MINUTE}); dropped by fake WeCom for the limit: {got.dropped}")
    if kill:
        print(f"kill -9                : {report.killed_at - report.accepted:.2f} s after acceptance, the fakes "
              f"having received {report.killed_seen} message(s); outbox at the kill {dict(report.at_kill)}; "
              f"restarted in {report.restart_seconds:.1f} s")
        if report.done is not None:
            lease = (f"; {report.at_kill['sending']} rows were leased by the killed dispatcher: a restart on "
                     f"the same host takes them back at once, another host waits out the {LEASE:.0f} s lease"
                     ) if report.at_kill["sending"] else ""
            print(f"recovery               : every outbox row delivered {report.done - report.restarted:.1f} s after "
                  f"the restart ({report.done - report.accepted:.1f} s after acceptance{lease})")
        duplicates = sum(max(0, got.told[k] - expected[k]) for k in expected)
        print(f"nothing lost?          : {undelivered} alerts with an undelivered notice, {short} with a notice "
              f"missing; alerts announced twice by the fakes: {duplicates}")
    print(f"service log            : {levels.get('ERROR', 0)} ERROR, {levels.get('WARNING', 0)} WARNING lines"
          + "".join(f"\n    {n} x {message}" for message, n in warnings.most_common(5)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossing", type=int, default=10_000, help="accounts crossing a level in the batch")
    parser.add_argument("--normal", type=int, default=2_000, help="accounts in the batch that stay normal")
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1, help="split the crossing batch into this many requests")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each fake answer takes")
    parser.add_argument("--kill-after", type=int, default=1,
                        help="kill -9 once the fakes received this many messages (0: as soon as the batch is accepted)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up waiting for delivery after this long")
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL database (in a schema of its own)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite runs")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 runs")
    args = parser.parse_args()
    runs = ([("SQLite", None)] if not args.no_sqlite else []) + ([("PostgreSQL", args.pg)] if args.pg else [])
    for label, pg in runs:
        storm(label, pg, args, kill=False)
        if not args.no_kill:
            storm(label, pg, args, kill=True)


if __name__ == "__main__":
    main()
