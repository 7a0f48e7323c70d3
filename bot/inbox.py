"""Accepted messages answered by workers (crm_core.inbox has the rows; issue 12).

An adapter calls `take(event, route)` before it tells the platform the message arrived: the event
is kept, sealed, as a pending row (a database that cannot keep it raises, and the adapter answers
5xx so the platform retries). A worker thread then answers it: the pipeline's one transaction
holds the handler's writes, the reply queued in the outbox and the row marked answered. A worker
that dies (kill -9), or a database that fails in between, leaves the row pending; `recover`
(a job every few seconds, and at start) answers it then, on whichever replica gets there first.

`route` is what the platform needs to address the answer (DingTalk: the group and its
sessionWebhook); the platform turns it back into a bot.delivery.Queue (`queues`).
A person's messages are answered one at a time, in order, so "张伟的保证金" then "2" share their
conversation state; the lock covers the answer's transaction only, never a platform send.
"""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Callable

from bot.delivery import Queue, plain
from bot.events import ChatEvent
from bot.pipeline import Transient, transient
from crm_core import inbox
from notifiers.outbox import process_alive as alive, worker_identity
from intents.rules import language_of
from messaging.replies import Reply

log = logging.getLogger("brokerbot.inbox")

LEASE = timedelta(seconds=60)  # a worker's hold on a row: longer than any answer takes (an LLM call included)
SETTLE = timedelta(seconds=3)  # a row younger than this is being answered by the worker it was handed to
MAX_ATTEMPTS = 20  # transient failures over about 20 recoveries; then the row is answered with an apology


def pack(event: ChatEvent, route: dict | None) -> str:
    return json.dumps({"platform": event.platform, "message_id": event.message_id, "user_id": event.user_id,
                       "text": event.text, "received_at": event.received_at.isoformat(),
                       "chat_type": event.chat_type, "chat_id": event.chat_id, "once_key": event.once_key,
                       "route": route or {}}, ensure_ascii=False)


def unpack(text: str) -> tuple[ChatEvent, dict]:
    data = json.loads(text)
    event = ChatEvent(data["platform"], data["message_id"], data["user_id"], data["text"],
                      datetime.fromisoformat(data["received_at"]), data["chat_type"], data["chat_id"],
                      once_key=data["once_key"])
    return event, data["route"]


class Inbox:
    def __init__(self, service, *, workers: int = 16):
        self.service = service
        self.db = service.app.db
        self.queues: dict[str, Callable[[dict], Queue]] = {}
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inbox")
        self._people: dict[tuple[str, str], threading.Lock] = {}
        self._people_lock = threading.Lock()
        self.worker = worker_identity()  # as the outbox's: a restart takes back what a killed worker held

    def route(self, platform: str, queue_for: Callable[[dict], Queue]) -> None:
        """How `platform` addresses an answer, from the route its adapter kept with the message."""
        self.queues[platform] = queue_for

    # -- accepting ----------------------------------------------------------------------------
    def accept(self, event: ChatEvent, route: dict | None = None) -> int | None:
        """Keep `event` (committed when this returns): its row id, None for a message accepted
        before (a platform's retry). Raises when the database cannot keep it."""
        with self.db.transaction() as session:
            return inbox.accept(session=session, platform=event.platform, key=event.message_id,
                                now=event.received_at, payload=self.db.cipher.encrypt(pack(event, route)))

    def take(self, event: ChatEvent, route: dict | None = None) -> bool:
        """Accept `event` and hand it to a worker; False for a retry of an accepted message."""
        row_id = self.accept(event, route)
        if row_id is None:
            return False
        self.pool.submit(self._safely, row_id)
        return True

    # -- answering ----------------------------------------------------------------------------
    def _safely(self, row_id: int) -> None:
        try:
            self.answer(row_id)
        except Exception:  # logged here: a worker's exception would vanish with its future
            log.exception("inbox row %s: answering failed; it stays pending and is tried again", row_id)

    def answer(self, row_id: int, now: datetime | None = None) -> bool:
        """Answer one pending row; False when another worker holds it, it was answered, or the
        database failed (the row stays pending)."""
        now = now or datetime.now(timezone.utc)
        try:
            with self.db.transaction() as session:
                sealed = inbox.lease(session=session, row_id=row_id, now=now, hold=LEASE, worker=self.worker)
                attempts = session.get(inbox.InboundMessage, row_id).attempts if sealed else 0
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("inbox row %s not answered yet (%s); it will be tried again", row_id, type(exc).__name__)
            return False
        if sealed is None:
            return False
        event, route = unpack(self.db.cipher.decrypt(sealed))
        queue = self.queues.get(event.platform, lambda _route: plain(event.platform))(route)
        try:
            with self.person(event):
                reply = self.service.pipeline.handle(event, queue=queue, inbox_id=row_id)
        except Transient:
            if attempts >= MAX_ATTEMPTS:
                log.error("inbox row %s failed %s times; answered with an apology", row_id, attempts)
                self._give_up(row_id, event, queue)
            return False
        if reply is not None:
            self.service.dispatcher.run_once()
        return reply is not None

    def _give_up(self, row_id: int, event: ChatEvent, queue: Queue) -> None:
        text = self.service.app.messages.t("internal_error", language_of(event.text) or "zh", ref=f"inbox-{row_id}")
        try:
            self.service.pipeline.handle(event, queue=queue, inbox_id=row_id, answer=lambda: Reply(text))
        except Transient:
            return

    def recover(self, now: datetime | None = None, *, at_start: bool = False) -> int:
        """Answer the pending rows nobody holds (a killed worker's, a failed attempt's); returns how
        many were answered. At start, rows a killed process on this host held are taken back first."""
        now = now or datetime.now(timezone.utc)
        try:
            with self.db.transaction() as session:
                if at_start:
                    freed = inbox.take_back(session=session, host=self.worker.split(":")[0], alive=alive)
                    if freed:
                        log.warning("took back %s messages held by a worker that is gone", freed)
                rows = inbox.due(session=session, now=now, settle=timedelta(0) if at_start else SETTLE)
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("pending messages not looked at (%s); next time", type(exc).__name__)
            return 0
        return sum(1 for row_id in rows if self.answer(row_id, now))

    def person(self, event: ChatEvent) -> threading.Lock:
        with self._people_lock:
            return self._people.setdefault((event.platform, event.user_id), threading.Lock())

    def close(self) -> None:
        self.pool.shutdown(wait=True)
