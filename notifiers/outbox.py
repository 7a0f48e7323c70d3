"""Outbound delivery through the durable outbox (crm_core.outbox).

`enqueue` writes a message in the caller's transaction; `Dispatcher.run_once` claims what is
due, hands each message to the sender of its channel, and records the outcome: delivered with
the platform's message id, retried with exponential backoff on errors and timeouts, or failed
after the last attempt (logged as an error, kept for operators). Per-target rate limits hold a
message back instead of losing it; group-webhook messages waiting for the same target are
merged into one. A message that echoes a phone or ID number is stored masked, with its words
encrypted for the send.

A direct message nobody can be reached for yet is queued `unrouted` (channel `direct`, target the
person's login, with the reason); `reroute` moves such rows to the person's platform once one
reaches them, so nothing waits in a log line instead of the outbox.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Callable, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crm_core.base import utcnow
from crm_core.db import cipher_of
from crm_core.masking import masked_deep
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.staff import Staff
from messaging.replies import Reply
from notifiers import media

log = logging.getLogger("brokerbot.outbox")

# Messages per target per minute. WeCom: an app may send one person at most 30 a minute and
# drops the rest silently; WeCom and DingTalk group robots take 20 a minute (STYLE.md, 2026).
PER_MINUTE = {"wecom": 30, "wecom_webhook": 20, "dingtalk_webhook": 20}
MERGEABLE = {"wecom_webhook", "dingtalk_webhook"}
UNROUTED = "direct"  # the channel of a direct message no platform reaches yet; its target is a staff login


class DeliveryError(Exception):
    """A send that did not go through. `transient` errors are retried."""

    def __init__(self, reason: str, *, transient: bool = True, retry_after: float | None = None):
        super().__init__(reason)
        self.transient = transient
        self.retry_after = retry_after


class Sender(Protocol):
    def send(self, target: str, body: dict) -> str | None:
        """Deliver one message; return the platform's message id; raise DeliveryError."""


def reply_body(reply: Reply) -> dict:
    return {"text": reply.text, "title": reply.title, "choices": [asdict(c) for c in reply.choices]}


def seal(body: dict, cipher) -> dict:
    """A body that echoes a phone or ID number is stored masked, its words encrypted for the send."""
    shown = {**body, **{key: masked_deep(body.get(key)) for key in ("text", "title", "choices")}}
    if shown == body:
        return body
    return {**shown, "sealed": cipher.encrypt(json.dumps(body, ensure_ascii=False))}


def unseal(body: dict, cipher) -> dict:
    if "sealed" not in body:
        return body
    opened = {**body, **json.loads(cipher.decrypt(body["sealed"]))}
    del opened["sealed"]
    return opened


def redact(row: OutboxMessage) -> None:
    """Once delivered or given up on, the encrypted words go: the row keeps the masked text only,
    so no copy of the database can give back the number (a full phone sent on request)."""
    if "sealed" in (row.body or {}):
        row.body = {k: v for k, v in row.body.items() if k != "sealed"} | {"redacted": True}


def enqueue(*, session: Session, channel: str, target: str, reply: Reply, purpose: str = "reply",
            ref: str | None = None, now: datetime | None = None, unrouted: str | None = None) -> OutboxMessage | None:
    """Queue a message, due at once. With a `ref`, the same (purpose, ref) is queued once only:
    a second one (another replica's run of the same job, even one still in flight) is skipped
    and None returned, without failing the caller's transaction (INSERT ... ON CONFLICT DO
    NOTHING on the unique (purpose, ref)). With `unrouted` (the reason no platform reaches the
    person), it is kept undeliverable for `reroute` (channel UNROUTED, target the staff login)."""
    now = now or utcnow()
    body = reply_body(reply)
    if reply.choices:  # a card's id, made once: a retry re-sends the same card (WeCom refuses a second)
        body["task_id"] = uuid.uuid4().hex
    values = dict(channel=channel, target=target, body=seal(body, cipher_of(session)), purpose=purpose, ref=ref,
                  next_attempt_at=now, created_at=now)
    if unrouted is not None:
        values.update(status=OutboxStatus.unrouted, unrouted_reason=unrouted[:2000])
    if ref is None:
        message = OutboxMessage(**values)
        session.add(message)
        session.flush()
    else:
        session.flush()  # the session's pending rows first, in order
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
        new_id = session.scalar(insert(OutboxMessage).values(**values)
                                .on_conflict_do_nothing(index_elements=["purpose", "ref"])
                                .returning(OutboxMessage.id))
        if new_id is None:
            return None
        message = session.get(OutboxMessage, new_id)
    if reply.attachments:  # the bytes go to outbox_media; the body names the rows
        message.body = {**message.body, "attachments": media.store(session=session, message=message,
                                                                   attachments=reply.attachments)}
        session.flush()
    return message


def occurrence_ref(kind: str, when: str, key: str) -> str:
    """The `ref` of one occurrence of a periodic message to one recipient, e.g.
    "pre_open:2026-11-18:wangfang"; a long key is hashed to fit the column."""
    ref = f"{kind}:{when}:{key}"
    if len(ref) <= 64:
        return ref
    return f"{kind}:{when}:#{hashlib.sha256(key.encode()).hexdigest()[:64 - len(kind) - len(when) - 3]}"


def reroute(*, session: Session, route: Callable[[Staff], tuple[str, str] | None], now: datetime) -> list[int]:
    """Undeliverable direct messages to people a platform now reaches are queued for it, due now
    (in order). Returns the ids moved. Each row moves once however many replicas run this at the
    same time: the rows are locked (SKIP LOCKED on PostgreSQL) and the UPDATE takes only rows
    still unrouted."""
    logins = list(session.scalars(select(OutboxMessage.target).where(
        OutboxMessage.status == OutboxStatus.unrouted).distinct()))
    if not logins:
        return []
    moved: list[int] = []
    for person in session.scalars(select(Staff).where(Staff.login.in_(logins), Staff.active.is_(True))):
        found = route(person)
        if found is None:
            continue
        waiting = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.unrouted,
                                                 OutboxMessage.target == person.login)
        if session.get_bind().dialect.name == "postgresql":
            waiting = waiting.with_for_update(skip_locked=True)
        ids = list(session.scalars(waiting))
        if not ids:
            continue
        moved += session.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.unrouted)
            .values(channel=found[0], target=found[1], status=OutboxStatus.pending, next_attempt_at=now,
                    routed_at=now).returning(OutboxMessage.id).execution_options(synchronize_session=False)).all()
    if moved:
        log.info("%s undeliverable messages now have a route and are queued", len(moved))
    return sorted(moved)


def backoff(attempts: int, base: float, cap: float = 900.0) -> timedelta:
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


class Dispatcher:
    def __init__(self, db, senders: dict[str, Sender], *, max_attempts: int = 8, base_delay: float = 2.0,
                 lease: float = 120.0, batch: int = 50):
        self.db = db
        self.senders = senders
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.lease = timedelta(seconds=lease)
        self.batch = batch
        self._running = threading.Lock()
        self._again = False
        # "host:pid:token": the token tells this dispatcher's leases from another's in the same
        # process (several services in one process, as in tests); recover() reads the pid.
        self.worker = worker_identity()

    def _claim(self, session: Session, now: datetime) -> list[int]:
        due = (select(OutboxMessage.id).where(
            OutboxMessage.channel.in_(list(self.senders)), OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.status == OutboxStatus.sending))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(self.batch))
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if not ids:
            return []
        # A lease: if this dispatcher dies, another retries after it. The UPDATE takes only rows
        # still due: on SQLite the SELECT above runs outside the write lock, so another process may
        # have claimed some of them meanwhile (two replicas on one file sent rows twice).
        taken = set(session.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.next_attempt_at <= now,
                                        OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
            .values(status=OutboxStatus.sending, next_attempt_at=now + self.lease, claimed_by=self.worker)
            .returning(OutboxMessage.id).execution_options(synchronize_session=False)))
        return [i for i in ids if i in taken]

    def recover(self, now: datetime | None = None) -> int:
        """At start-up: rows leased by a dispatcher process on this host that no longer runs (killed,
        crashed) are due again now rather than when their lease runs out. Returns how many."""
        now = now or utcnow()
        host = self.worker.split(":")[0]
        with self.db.transaction() as session:
            rows = session.scalars(select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.sending, OutboxMessage.claimed_by.startswith(f"{host}:")))
            taken = [row for row in rows if not process_alive(row.claimed_by.split(":")[1])]
            for row in taken:
                row.status, row.next_attempt_at, row.claimed_by = OutboxStatus.pending, now, None
        if taken:
            log.warning("took back %s outbox messages leased by a dispatcher that is gone", len(taken))
        return len(taken)

    def _sent_last_minute(self, session: Session, row: OutboxMessage, now: datetime) -> list[datetime]:
        return list(session.scalars(select(OutboxMessage.delivered_at).where(
            OutboxMessage.channel == row.channel, OutboxMessage.target == row.target,
            OutboxMessage.delivered_at > now - timedelta(minutes=1)).order_by(OutboxMessage.delivered_at)))

    def run_once(self, now: datetime | None = None) -> int:
        """Deliver what is due; returns how many messages were delivered. One run at a time per
        dispatcher: a call while another runs asks that run to go round once more and returns 0
        (adapters call this after queueing a reply; the scheduler calls it every 2 s)."""
        delivered = 0
        while True:
            if not self._running.acquire(blocking=False):
                self._again = True
                return delivered
            try:
                self._again = False
                delivered += self._run(now)
            finally:
                self._running.release()
            if not self._again:  # checked after releasing, so a call that just missed the lock is served
                return delivered

    def _run(self, fixed: datetime | None) -> int:
        now = fixed or utcnow()
        with self.db.transaction() as session:
            claimed = self._claim(session, now)
        delivered, done = 0, set()
        for row_id in claimed:
            if row_id in done:
                continue
            with self.db.transaction() as session:  # what to send; the rows stay leased to us
                group = self._group(session, row_id, [i for i in claimed if i not in done])
                done.add(row_id)
                done.update(r.id for r in group)
                if not group:  # our lease ran out and another dispatcher took it: theirs to send
                    continue
                row = group[0]
                if self._held(session, group, now):
                    continue
                for member in group:
                    member.status, member.next_attempt_at = OutboxStatus.sending, now + self.lease
                ids, channel, target = [r.id for r in group], row.channel, row.target
                body = media.hydrate(session, self.db, self._body([unseal(r.body, self.db.cipher) for r in group]), group)
            # No transaction is open while the platform is called: a slow send holds no
            # connection, and a sender may use the database itself (its token cache).
            try:
                message_id, error = self.senders[channel].send(target, body), None
            except DeliveryError as exc:
                message_id, error = None, exc
            except Exception as exc:  # a sender bug or an unexpected transport error: retry, loudly
                log.exception("sender for %s raised", channel)
                message_id, error = None, DeliveryError(f"{type(exc).__name__}: {exc}")
            with self.db.transaction() as session:
                rows = [session.get(OutboxMessage, i) for i in ids]
                if error is not None:
                    self._failed(rows, error, now)
                    continue
                sent_at = fixed or utcnow()  # when it went, for the evidence and the per-minute limits
                for member in rows:
                    member.status, member.delivered_at = OutboxStatus.delivered, sent_at
                    member.platform_message_id, member.attempts = message_id, member.attempts + 1
                    redact(member)
                delivered += len(rows)
        return delivered

    def _group(self, session: Session, row_id: int, ours: list[int]) -> list[OutboxMessage]:
        """The row and, for a group robot, the other rows to the same target that this run
        claimed, locked, and only while they are still leased to this dispatcher: a row another
        replica claimed is theirs to send (merging it here posted it twice)."""
        row = session.scalar(self._mine(session, OutboxMessage.id == row_id))
        if row is None:
            return []
        others = [i for i in ours if i != row_id]
        if row.channel not in MERGEABLE or not others:
            return [row]
        return [row, *session.scalars(self._mine(session, OutboxMessage.id.in_(others),
                                                 OutboxMessage.channel == row.channel,
                                                 OutboxMessage.target == row.target))]

    def _mine(self, session: Session, *where):
        """Rows still leased to this dispatcher, locked on PostgreSQL."""
        query = select(OutboxMessage).where(*where, OutboxMessage.status == OutboxStatus.sending,
                                            OutboxMessage.claimed_by == self.worker).order_by(OutboxMessage.id)
        return query.with_for_update(of=OutboxMessage) if session.get_bind().dialect.name == "postgresql" else query

    def _held(self, session: Session, group: list[OutboxMessage], now: datetime) -> bool:
        """At the target's per-minute limit the group waits (pending), never dropped."""
        head = group[0]
        limit = PER_MINUTE.get(head.channel)
        if limit is None:
            return False
        recent = self._sent_last_minute(session, head, now)
        if len(recent) < limit:
            return False
        for row in group:
            row.status, row.next_attempt_at = OutboxStatus.pending, recent[-limit] + timedelta(minutes=1)
        return True

    @staticmethod
    def _body(bodies: list[dict]) -> dict:
        head = bodies[0]
        if len(bodies) == 1:
            return head
        return {"text": "\n\n".join(b.get("text", "") for b in bodies), "title": head.get("title"),
                "choices": [], "attachments": [a for b in bodies for a in b.get("attachments") or []]}

    def _failed(self, group: list[OutboxMessage], exc: DeliveryError, now: datetime) -> None:
        for row in group:
            row.attempts += 1
            row.last_error = str(exc)[:2000]
            if not exc.transient or row.attempts >= self.max_attempts:
                row.status = OutboxStatus.failed
                redact(row)
                log.error("outbox %s to %s:%s failed for good after %s attempts: %s",
                          row.id, row.channel, row.target, row.attempts, exc)
            else:
                wait = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(row.attempts, self.base_delay)
                row.status, row.next_attempt_at = OutboxStatus.pending, now + wait
                log.warning("outbox %s to %s:%s attempt %s failed (%s); retry at %s",
                            row.id, row.channel, row.target, row.attempts, exc, row.next_attempt_at)


def worker_identity() -> str:
    """"host:pid:token" of a worker holding leases: the token tells two workers of one process apart
    (several services in one process, as in tests); a restart on the host reads the pid to take
    back what a killed process held (process_alive)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_alive(pid: str) -> bool:
    """Whether a process with this id runs on this host (signal 0 checks without sending)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True
