"""WeCom throughput: staff members ask the real `brokerbot serve` questions through encrypted, signed
callbacks, with WeCom's API played by the fake on loopback (tests/fakes/wecom_server.py).

    python benchmarks/wecom_bench.py [--seconds 30] [--senders 100] [--pg URL] [--no-sqlite]
                                     [--cold] [--diagnose] [--profile] [--keep]

For each database (a SQLite file; with --pg also a fresh PostgreSQL schema, dropped afterwards):
builds the demo dataset (bot.demo.seed.seed_demo), adds managers with a WeCom id until there are
--senders staff members who have one and shares the demo's clients among all managers, starts the
fake WeCom (rate limits lifted) and `brokerbot serve` in a subprocess, warms up (one message alone,
then one from every sender at once), then for --seconds each sender asks a question ("<one of its
clients>的保证金还够吗", its positions or profile, a client list, alerts, KPIs, approvals, help), waits
for the answer (the passive reply in the callback's response, else the app message the fake
receives) and asks the next, as a person does. WeCom's retries after 5 s are not played; the
figures say how many answers they would have cost.

Prints: messages per second; p50/p99 ack latency (HTTP response time of the callback) and reply
latency (callback sent -> passive reply, or -> the fake's receipt of message/send, timed by the
fake); passive vs outbox replies; errors; missing and duplicate replies; CPU use; and the cost of a
bare decrypt+encrypt of one message with wechatpy's WeChatCrypto on one thread. --diagnose runs the
service through benchmarks/wecom_serve.py and prints where its time goes; --profile adds cProfile;
--cold warms up with every sender at once on the cold service; --keep keeps the service's folder.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import pstats
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
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from wechatpy.enterprise.crypto import WeChatCrypto  # noqa: E402
from wechatpy.enterprise.replies import TextReply  # noqa: E402

from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm_core.clients import Client  # noqa: E402
from bot.demo.seed import seed_demo  # noqa: E402
from crm_core.inbox import InboundMessage  # noqa: E402
from tests.pg_schema import scratch_schema  # noqa: E402
from crm_core.outbox import OutboxMessage, OutboxStatus  # noqa: E402
from crm_core.staff import Role, Staff, Team, list_staff  # noqa: E402
from crm_core.visibility import visible_clients  # noqa: E402
from tests.fakes.wecom_crypto import CallbackClient, parse_xml  # noqa: E402
from tests.fakes.wecom_server import FakeWeCom  # noqa: E402

KEY = "brokerbot-bench-secret-key-0123456789"
TOKEN, AES_KEY, CORP = "brokerbotBenchToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwbenchcorp0001"
TZ = "Asia/Shanghai"
# What a manager asks, with weights; {client} is one of the clients the sender may see.
QUESTIONS = (("{client}的保证金还够吗", 40), ("{client}的持仓", 15), ("查一下{client}", 15),
             ("风险度超过80%的客户", 8), ("我的风险预警", 6), ("我这个月的业绩", 6), ("我的待审批", 5), ("帮助", 5))
# WeCom's callback docs (checked 2026; STYLE.md): no answer within 5 s and WeCom drops the request and
# retries, up to three times. A passive reply later than that never reaches the person: the retry
# finds the MsgId claimed and is answered empty.
WECOM_GIVES_UP = 5.0
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Cancelled\w*)\b")


# -- the database -------------------------------------------------------------------------------
@contextmanager
def database(pg_url: str | None, folder: Path):
    """A SQLite file, or a PostgreSQL schema of its own (as tests/conftest.py), dropped afterwards."""
    if pg_url is None:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    with scratch_schema(pg_url, "bench") as url:
        yield url


@dataclass
class Sender:
    userid: str
    clients: list[str]
    rng: random.Random
    pushed: int = 0  # callbacks answered empty, whose reply must come through message/send
    extra: int = 0  # deliveries beyond those, seen so far (duplicates)
    unanswered: int = 0  # callbacks without an HTTP answer (timeouts)

    def question(self) -> str:
        choices = [(q, w) for q, w in QUESTIONS if self.clients or "{client}" not in q]
        template = self.rng.choices([q for q, _ in choices], [w for _, w in choices])[0]
        return template.format(client=self.rng.choice(self.clients)) if "{client}" in template else template


def seed(app: App, senders: int) -> tuple[list[Sender], str]:
    """The demo dataset, plus managers until `senders` staff have a WeCom id; clients shared out."""
    with app.db.transaction() as session:
        demo = seed_demo(session=session, now=datetime.now(app.db.tz))
        staff = list_staff(session=session)
        teams = list(session.scalars(select(Team).order_by(Team.id)))
        heads = {s.team_id: s for s in staff if s.role is Role.supervisor}
        added = max(0, senders - sum(1 for s in staff if s.wecom_userid))
        for i in range(added):
            team = teams[i % len(teams)]
            session.add(Staff(login=f"bench{i + 1:03d}", name=f"压测经理{i + 1}", role=Role.manager, team=team,
                              supervisor=heads.get(team.id), wecom_userid=f"bench{i + 1:03d}"))
        session.flush()
        staff = list_staff(session=session)
        managers = [s for s in staff if s.role is Role.manager]
        for i, client in enumerate(session.scalars(select(Client).where(Client.manager_id.is_not(None))
                                                   .order_by(Client.id))):
            client.manager = managers[i % len(managers)]
        session.flush()
        out = []
        for i, member in enumerate([s for s in staff if s.wecom_userid][:senders]):
            names = list(session.scalars(select(Client.name).where(visible_clients(member)).order_by(Client.id)))
            rng = random.Random(f"wecom-bench:{i}")
            out.append(Sender(member.wecom_userid, rng.sample(names, min(20, len(names))), rng))
    about = (f"demo: {len(demo.staff)} staff + {added} added managers, {demo.clients} clients shared by "
             f"{len(managers)} managers")
    return out, about


@contextmanager
def workdir(keep: bool):
    if keep:
        folder = Path(tempfile.mkdtemp(prefix="brokerbot-wecom-bench-"))
        print(f"service data folder (kept): {folder}")
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="brokerbot-wecom-bench-") as tmp:
        yield Path(tmp)


# -- the service ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def service(url: str, folder: Path, fake: FakeWeCom | None, diagnose: bool, profile: bool,
            extra_env: dict | None = None):
    """`brokerbot serve` on a free port with WeCom pointed at `fake` (and `extra_env` settings)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    env.update(BROKERBOT_DATABASE_URL=url, BROKERBOT_SECRET_KEY=KEY, BROKERBOT_DATA_DIR=str(folder),
               BROKERBOT_TIMEZONE=TZ, PYTHONIOENCODING="utf-8")
    if fake is not None:
        env.update(BROKERBOT_WECOM_CORP_ID=CORP, BROKERBOT_WECOM_AGENT_ID=str(fake.agent_id),
                   BROKERBOT_WECOM_SECRET=fake.secret, BROKERBOT_WECOM_TOKEN=TOKEN, BROKERBOT_WECOM_AES_KEY=AES_KEY,
                   BROKERBOT_WECOM_API_BASE=fake.base_url)
    env.update(extra_env or {})
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if diagnose or profile:
        cmd = [sys.executable, str(HERE / "wecom_serve.py"), str(folder / "timings.json"),
               str(folder / "profile.pstats") if profile else "-", *serve]
    else:
        cmd = [sys.executable, "-m", "bot", *serve]
    with open(folder / "serve.out", "wb") as out:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the service did not start:\n" + (folder / "serve.out").read_text()[-3000:])
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield proc, base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or 'self'}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# -- the load -------------------------------------------------------------------------------------
@dataclass
class Results:
    acks: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    replies: list[tuple[float, float]] = field(default_factory=list)  # (arrived at, seconds since sent)
    passive: int = 0
    late_passive: int = 0  # passive replies WeCom would no longer be waiting for
    pushed: int = 0
    errors: Counter = field(default_factory=Counter)
    sample: str = ""
    lag: list[float] = field(default_factory=list)  # this process's event loop, late by
    failures: list[str] = field(default_factory=list)  # the first few error replies, as the person saw them


class Deliveries:
    """What the fake WeCom received through message/send, per user, with the fake's own arrival
    times (its clock is time.perf_counter, so they compare with the senders' times)."""

    def __init__(self, fake: FakeWeCom):
        self.fake, self.seen = fake, 0
        self.by_user: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.waiting: dict[str, asyncio.Event] = {}
        self.kinds: Counter = Counter()  # msgtype of what arrived

    def poll(self) -> None:
        with self.fake.lock:
            new = self.fake.sent[self.seen:]
            self.seen += len(new)
        for d in new:
            self.kinds[d.msgtype] += 1
            self.by_user[d.user].append((d.at, (d.body.get("text") or {}).get("content", "")))
            if d.user in self.waiting:
                self.waiting[d.user].set()

    async def watch(self, stop: asyncio.Event) -> None:
        self.waiting = {}  # asyncio events belong to one event loop; each run has its own
        while not stop.is_set():
            self.poll()
            await asyncio.sleep(0.005)
        self.poll()

    async def nth(self, user: str, n: int, deadline: float) -> tuple[float, str] | None:
        while len(self.by_user[user]) < n:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            event = self.waiting.setdefault(user, asyncio.Event())
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), left)
            except asyncio.TimeoutError:
                return None
        return self.by_user[user][n - 1]


class Connection:
    """One sender's keep-alive HTTP/1.1 connection, by hand: httpx's client cost the load generator
    about as much CPU as the service spent, on the same machine."""

    IDLE = 3.0  # seconds: reconnect rather than reuse a connection uvicorn may be closing (it does at 5 s)
    ERRORS = (OSError, EOFError, asyncio.TimeoutError, IndexError, ValueError)  # IncompleteReadError is an EOFError

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def post(self, target: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        if self.writer is not None and time.perf_counter() - self.used > self.IDLE:
            self.close()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: text/xml\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            return await asyncio.wait_for(self._exchange(head + body), timeout)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        status = int((await self.reader.readline()).split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "connection" and "close" in value.lower():
                close = True
        body = await self.reader.readexactly(length)
        self.used = time.perf_counter()
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Load:
    def __init__(self, base: str, senders: list[Sender], deliveries: Deliveries, failure_texts: tuple[str, ...]):
        self.address = urlsplit(base)
        self.senders, self.deliveries, self.failure_texts = senders, deliveries, failure_texts
        self.wx = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP)
        self.ids = itertools.count(7_000_000_000_000_000_000)

    def check(self, res: Results, content: str) -> None:
        if any(content.startswith(t) for t in self.failure_texts):
            res.errors["replies saying internal error / unknown user"] += 1
            if len(res.failures) < 3:
                res.failures.append(content[:160])
        elif len(content) > len(res.sample):
            res.sample = content  # the longest answer: the reply encrypted in the crypto figure

    async def ask(self, s: Sender, res: Results, until: float, deadline: float, once: bool = False) -> None:
        http = Connection(self.address.hostname, self.address.port)
        try:
            await self._ask(http, s, res, until, deadline, once)
        finally:
            http.close()

    async def _ask(self, http: Connection, s: Sender, res: Results, until: float, deadline: float,
                   once: bool) -> None:
        while once or time.perf_counter() < until:
            once = False
            seen = len(self.deliveries.by_user[s.userid])
            s.extra = max(s.extra, seen - s.pushed)  # more than asked for so far: a duplicate came in
            query, body = self.wx.text(s.userid, s.question(), msg_id=next(self.ids))
            started = time.perf_counter()
            try:
                status, content = await http.post(f"/wecom/callback?{urlencode(query)}", body.encode(), 30.0)
            except Connection.ERRORS as exc:  # the service may still answer it through the outbox
                res.errors[f"callback {type(exc).__name__}"] += 1
                s.unanswered += 1
                continue
            acked = time.perf_counter()
            res.acks.append((started, acked - started))
            if status != 200:
                res.errors[f"callback HTTP {status}"] += 1
                continue
            if content:
                try:
                    content = parse_xml(self.wx.open_reply(content)).get("Content", "")
                except Exception as exc:  # a reply WeCom could not open is an error the user sees as silence
                    res.errors[f"passive reply unreadable ({type(exc).__name__})"] += 1
                    continue
                res.passive += 1
                res.late_passive += acked - started > WECOM_GIVES_UP
                res.replies.append((acked, acked - started))
                self.check(res, content)
                continue
            s.pushed += 1
            res.pushed += 1
            got = await self.deliveries.nth(s.userid, s.pushed + s.extra, deadline)
            if got is None:
                return  # missing: counted at the end
            arrived, content = got
            res.replies.append((arrived, arrived - started))
            self.check(res, content)

    @staticmethod
    async def lag(res: Results, stop: asyncio.Event) -> None:
        """How late this process's event loop wakes from a 10 ms sleep: when it is late, the ack and
        reply times above include the load generator's own delay."""
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            res.lag.append(time.perf_counter() - started - 0.01)

    async def run(self, seconds: float, drain: float, once: bool = False,
                  senders: list[Sender] | None = None) -> tuple[Results, float, float]:
        senders = self.senders if senders is None else senders
        res, stop = Results(), asyncio.Event()
        watcher = asyncio.create_task(self.deliveries.watch(stop))
        lagging = asyncio.create_task(self.lag(res, stop))
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(self.ask(s, res, until, until + drain, once) for s in senders))
        ended = time.perf_counter() if once else until
        await asyncio.sleep(1.0)  # late duplicates
        stop.set()
        await watcher
        await lagging
        return res, started, ended


# -- figures --------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def ms(values: list[float]) -> str:
    return (f"p50 {pct(values, 0.5) * 1000:7.1f} ms   p99 {pct(values, 0.99) * 1000:7.1f} ms   "
            f"max {max(values, default=float('nan')) * 1000:7.1f} ms")


def outbox_state(url: str) -> tuple[dict, int, int]:
    app = App(Settings(database_url=url, secret_key=KEY, timezone=TZ))
    try:
        with app.db.session() as session:
            status = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(
                OutboxMessage.status)).all())
            held = session.scalar(select(func.count()).where(
                OutboxMessage.status == OutboxStatus.pending, OutboxMessage.attempts == 0,
                OutboxMessage.next_attempt_at > datetime.now(timezone.utc)))
            claimed = session.scalar(select(func.count()).select_from(InboundMessage))
        return {getattr(k, "value", k): v for k, v in status.items()}, held, claimed
    finally:
        app.close()


def log_lines(folder: Path) -> tuple[Counter, Counter]:
    """Records per level (ERROR, WARNING) and the exceptions in the service log's tracebacks; the log
    is JSON lines (level, exc) or, from older versions, text lines."""
    levels, exceptions = Counter(), Counter()
    path = folder / "brokerbot.log"
    for line in (path.read_text(encoding="utf-8").splitlines() if path.exists() else []):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            levels[record.get("level")] += 1
            if record.get("exc"):  # the exception's own line (SQLAlchemy adds [SQL: ...] lines after it)
                lines = record["exc"].strip().splitlines()
                exceptions[next((x for x in reversed(lines) if EXCEPTION.match(x)), lines[-1])[:160]] += 1
            elif record.get("level") == "ERROR":  # an error without a traceback: its message, ids and numbers blurred
                exceptions[re.sub(r"[^\s,]*\d[^\s,]*", "N", str(record.get("msg")))[:160]] += 1
            continue
        parts = line.split(" ", 3)
        if len(parts) > 2 and parts[2] in {"ERROR", "WARNING", "CRITICAL"}:
            levels[parts[2]] += 1
        elif EXCEPTION.match(line):
            exceptions[line[:160]] += 1
    return levels, exceptions


def print_timings(folder: Path) -> None:
    path = folder / "timings.json"
    if not path.exists():
        print("  (no timings: the service wrote none)")
        return
    data = json.loads(path.read_text())
    print(f"  service CPU: {data['cpu_user']:.1f} s user + {data['cpu_system']:.1f} s system, whole run; the "
          f"event loop thread (HTTP, routing, crypto, access log) {data.get('loop_cpu', 0):.1f} s of it")
    print(f"  {', '.join(f'{k}: {v}' for k, v in data.get('counts', {}).items())}")
    if data.get("missing"):
        print(f"  not timed (no longer in the code): {', '.join(data['missing'])}")
    print(f"  {'where (wall-clock; CPU = the thread own CPU inside)':58} {'count':>6} {'mean':>8} "
          f"{'p50':>8} {'p99':>8} {'max':>7} {'total':>7} {'CPU/call':>8} {'CPU':>6}")
    for name, t in sorted(data["timers"].items(), key=lambda kv: -kv[1].get("total", kv[1]["cpu"] or 0)):
        cpu = t.get("cpu")
        cpu_cols = f" {cpu / t['count'] * 1000:7.2f}m {cpu:5.1f}s" if cpu is not None and t["count"] else ""
        if "mean" not in t:
            print(f"  {name:58} {t['count']:>6} {'':>8} {'':>8} {'':>8} {'':>7} {'':>7}{cpu_cols}")
            continue
        print(f"  {name:58} {t['count']:>6} {t['mean'] * 1000:7.2f}m {t['p50'] * 1000:7.2f}m "
              f"{t['p99'] * 1000:7.1f}m {t['max'] * 1000:6.0f}m {t['total']:6.1f}s{cpu_cols}")


# Built-ins in which a thread waits rather than computes (locks, queues, sockets, sleeps).
WAITING = re.compile(r"^<?\{?(method|built-in method) '?(acquire|get|poll|select|recv|recv_into|send|sendall|wait|"
                     r"sleep|accept|connect)'? ")


def where(file: str, name: str) -> str:
    """A profile entry's package: the project's own folders, a site-package, the standard library."""
    if file == "~":
        owner = re.search(r"of '([\w.]+)", name)
        return f"{owner.group(1).split('.')[0] if owner else 'builtins'} (C)"
    parts = file.replace("\\", "/").split("/")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    for own in ("bot", "crm_core", "intents", "notifiers", "benchmarks"):
        if own in parts:
            return own
    return "stdlib " + (parts[-2] if parts[-1] == "__init__.py" else parts[-1]).removesuffix(".py")


def print_profile(folder: Path) -> None:
    """Where the service's time went, waits left out: per package, then the top functions (own time)."""
    path = folder / "profile.pstats"
    if not path.exists():
        print("  (no profile written)")
        return
    rows = [(tt, nc, file, line, name) for (file, line, name), (_, nc, tt, _, _) in
            pstats.Stats(str(path)).stats.items() if not (file == "~" and WAITING.match(name))]
    total = sum(r[0] for r in rows) or 1
    per = Counter()
    for tt, _, file, _, name in rows:
        per[where(file, name)] += tt
    print(f"  -- cProfile, all threads: {total:.1f} s of own time outside waits, by package --")
    for package, seconds in per.most_common(15):
        print(f"  {package:40} {seconds:7.2f} s  {seconds / total:5.1%}")
    print("  -- the 25 functions with the most own time --")
    for tt, nc, file, line, name in sorted(rows, reverse=True)[:25]:
        short = file if file == "~" else "/".join(file.split("/")[-2:])
        print(f"  {tt:7.2f} s {nc:>8} calls  {short}:{line}({name})"[:150])


def crypto_cost(sample: str, n: int = 3000) -> float:
    """µs for decrypting one callback and encrypting its passive reply with wechatpy, one thread."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP)
    query, body = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP).text(
        "wangfang", "张三的保证金还够吗", msg_id=1)
    reply = TextReply(source=CORP, target="wangfang", content=sample or "张三" * 100).render()
    started = time.perf_counter()
    for _ in range(n):
        crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
        crypto.encrypt_message(reply, query["nonce"], query["timestamp"])
    return (time.perf_counter() - started) / n * 1e6


def bench(label: str, pg_url: str | None, args) -> str:
    with workdir(args.keep) as folder, database(pg_url, folder) as url:
        app = App(Settings(database_url=url, secret_key=KEY, data_dir=folder, timezone=TZ)).ready()
        try:
            senders, about = seed(app, args.senders)
            failure_texts = (app.messages.t("internal_error", "zh", ref="\0").split("\0")[0],
                             app.messages.t("unknown_user", "zh"))
        finally:
            app.close()
        lifted = 10 ** 9
        with FakeWeCom(corp_id=CORP, clock=time.perf_counter, users={s.userid for s in senders},
                       per_user_minute=lifted, per_user_hour=lifted) as fake, \
                service(url, folder, fake, args.diagnose, args.profile) as (proc, base):
            deliveries = Deliveries(fake)
            load = Load(base, senders, deliveries, failure_texts)
            # Warm-up: one message alone (the name index and the access token are made once), then one
            # from every sender at once. --cold leaves out the first: everyone at once on a cold service.
            first, *_ = asyncio.run(load.run(0, args.drain, once=True, senders=[] if args.cold else senders[:1]))
            warm, *_ = asyncio.run(load.run(0, args.drain, once=True))
            warm.acks += first.acks
            warm.errors += first.errors
            seen = deliveries.seen
            cpu0, self0, busy0, load_before = cpu_seconds(proc.pid), cpu_seconds(), machine_busy(), os.getloadavg()[0]
            res, started, ended = asyncio.run(load.run(args.seconds, args.drain))
            cpu1, self1, busy1 = cpu_seconds(proc.pid), cpu_seconds(), machine_busy()
            status, held, claimed = outbox_state(url)
            dropped, pushed = len(fake.dropped), deliveries.seen - seen
        levels, exceptions = log_lines(folder)
        window = ended - started
        acked = [d for t, d in res.acks if t < ended]
        in_window = sum(1 for t, _ in res.replies if t < ended)
        asked = {s.userid: s.pushed for s in senders}
        got = {s.userid: len(deliveries.by_user[s.userid]) for s in senders}
        missing = sum(max(0, asked[u] - got[u]) for u in asked)
        spare = {s.userid: s.unanswered for s in senders}  # an unanswered callback may be answered later
        duplicates = sum(max(0, got[u] - asked[u] - spare[u]) for u in asked)
        buckets = Counter(int((t - started) // 5) for t, _ in res.acks if t < ended)
        wall = time.perf_counter() - started
        print(f"\n== {label}: {len(senders)} senders for {args.seconds:g} s; {about} ==")
        print(f"warm-up                : {len(warm.acks)} messages, {'' if args.cold else 'one alone then '}one per "
              f"sender at once, ack {ms([d for _, d in warm.acks])} (not counted below)")
        print(f"sustained throughput   : {len(acked):,} callbacks in {window:.1f} s = {len(acked) / window:,.1f} "
              f"messages/s; replies arriving in that window {in_window / window:,.1f}/s")
        print(f"callbacks per 5 s      : {' '.join(str(buckets[i]) for i in range(int(window // 5)))}")
        print(f"ack latency            : {ms([d for _, d in res.acks])}   over 1 s: "
              f"{sum(d > 1 for _, d in res.acks)}, over WeCom's 5 s: {sum(d > WECOM_GIVES_UP for _, d in res.acks)}")
        print(f"reply latency          : {ms([d for _, d in res.replies])}")
        print(f"replies                : {res.passive:,} passive (in the callback response), {pushed:,} through "
              f"the outbox (message/send); {res.pushed:,} callbacks were answered empty; {res.late_passive} "
              f"passive replies came after {WECOM_GIVES_UP:g} s (lost under real WeCom, which retries by then)")
        print(f"exactly one reply      : missing {missing}, duplicates {duplicates}  "
              f"(over all {len(res.acks) + len(warm.acks):,} messages; the service claimed {claimed:,} MsgIds)")
        errs = "; ".join(f"{k}: {v}" for k, v in (res.errors + warm.errors).items()) or "none"
        print(f"errors                 : {errs}" + "".join(f"\n    {t!r}" for t in warm.failures + res.failures))
        print(f"outbox at the end      : {status}; waiting for the 30-a-minute limit: {held}")
        print(f"fake WeCom             : {dropped} dropped by its own limits (lifted); message/send received, "
              f"by msgtype, over the whole run: {dict(deliveries.kinds)}")
        service_cpu, own_cpu = (cpu1 - cpu0) / wall, (self1 - self0) / wall
        busy = (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) * os.cpu_count()
        print(f"CPU during the load    : service {service_cpu:.0%} of one core, this load generator and fake "
              f"{own_cpu:.0%}, everything else (database server, other programs) {busy - service_cpu - own_cpu:.0%}; "
              f"machine {busy / os.cpu_count():.0%} of {os.cpu_count()} cores busy, load average {load_before:.1f} "
              f"before -> {os.getloadavg()[0]:.1f} after")
        print(f"load generator's loop  : late by {ms(res.lag)} waking from a 10 ms sleep")
        handled = len(res.acks) or 1
        print(f"service CPU per message: {(cpu1 - cpu0) / handled * 1000:.1f} ms, so one service process (one "
              f"core at most, the GIL) tops out near {handled / max(cpu1 - cpu0, 1e-9):,.0f} messages/s")
        print(f"service log            : {levels.get('ERROR', 0)} ERROR, {levels.get('WARNING', 0)} WARNING lines"
              + "".join(f"\n    {n} x {line}" for line, n in exceptions.most_common(5)))
        if args.diagnose or args.profile:
            print_timings(folder)
        if args.profile:
            print_profile(folder)
        return res.sample


def each_database(run, args) -> None:
    """run(label, pg_url, args) on SQLite unless --no-sqlite, and on PostgreSQL when --pg is given."""
    if not args.no_sqlite:
        run("sqlite", None, args)
    if args.pg:
        run("postgresql", args.pg, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--senders", type=int, default=100)
    parser.add_argument("--drain", type=float, default=75.0,
                        help="after the run, wait this long at most for replies still owed (the outbox holds "
                             "a 31st message a minute to one person back for up to a minute)")
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL database (in a schema of its own)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--diagnose", action="store_true", help="timers inside the service (benchmarks/wecom_serve.py)")
    parser.add_argument("--profile", action="store_true", help="cProfile every thread of the service")
    parser.add_argument("--cold", action="store_true",
                        help="warm up with every sender at once on the cold service (no lone first message)")
    parser.add_argument("--keep", action="store_true", help="keep the service's data folder (log, timings)")
    args = parser.parse_args()
    sample = ""
    if not args.no_sqlite:
        sample = bench("SQLite", None, args)
    if args.pg:
        sample = bench("PostgreSQL", args.pg, args) or sample
    print(f"\nbare wechatpy WeChatCrypto decrypt + encrypt of one message: {crypto_cost(sample):.0f} µs "
          f"(one thread, reply of {len(sample) or 200} characters)")


if __name__ == "__main__":
    main()
