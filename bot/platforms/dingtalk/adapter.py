"""DingTalk (钉钉) app robot: Stream mode (default) or HTTP mode at POST /dingtalk/callback.

Facts (dingtalk-stream 0.24.3 sources and open.dingtalk.com, checked 2026; STYLE.md):
- Stream (stream.py): the SDK acks a CALLBACK frame only after the handler's process() returns, and
  the gateway pushes a frame again when its ack is late; so process() only accepts the message
  into the inbox (bot.inbox: kept in the database; a worker answers it through the outbox) and
  returns; a database that cannot keep it makes process() fail, so the frame is pushed again.
  A message's id is its msgId, so a redelivery is answered once. HTTP mode accepts the same way
  before it answers 200 (503 when the database cannot keep it).
- HTTP mode signs each callback: headers `timestamp` (ms) and `sign` =
  Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret)), the timestamp within one hour.
- Card button clicks (callbackType=STREAM) arrive over Stream on /v1.0/card/instances/callback with
  {outTrackId, userId, content: JSON {cardPrivateData: {actionIds, params}}}; a card answers each
  person's first click only, and a click the pipeline refuses (not theirs to decide) not at all:
  the card stays as it was. A click pushed again (the frame's messageId) is answered once.
- The HTTP sign covers the timestamp only, not the body: whoever captured one header pair can post
  any body for an hour. So an answer goes to a sessionWebhook only on DingTalk's own host
  (`webhook_origins`; any other is ignored and the answer goes through the OpenAPI to the asker's
  own chat), and a msgId is answered once (the pipeline's dedupe claims it in crm_core/inbox.py,
  durable across replicas and kept a week, longer than the hour). A sign is not taken once: two
  real callbacks in the same millisecond share it. Stream mode (the default) has none of this.
A reply showing one client's figures never goes to a group (bot.delivery): it goes to the asker's
direct chat, and the group is told so.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select

from bot.events import ChatEvent
from bot.platforms.dingtalk.stream import FRAME_ID, Stream
from crm_core.outbox import OutboxMessage
from intents.rules import language_of
from messaging.replies import Reply
from notifiers.dingtalk import GROUP
from notifiers.outbox import enqueue

log = logging.getLogger("brokerbot.dingtalk")
ONE_HOUR_MS = 3_600_000
ROBOT_ORIGIN = "https://oapi.dingtalk.com"  # sessionWebhook: https://oapi.dingtalk.com/robot/sendBySession?session=…


def origin(url: str) -> str | None:
    """scheme://host[:port] of a URL, lower case; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def webhook_origins(api_base: str, webhook_base: str | None) -> frozenset[str]:
    """Where a sessionWebhook may point: the configured base, else DingTalk's robot host and the
    OpenAPI's origin (which is a local fake in tests)."""
    bases = [webhook_base] if webhook_base else [ROBOT_ORIGIN, api_base]
    return frozenset(o for o in map(origin, bases) if o)


def valid_signature(secret: str, timestamp: str | None, sign: str | None, now_ms: int) -> bool:
    if not timestamp or not sign or not timestamp.isdigit() or abs(now_ms - int(timestamp)) > ONE_HOUR_MS:
        return False
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


@dataclass(frozen=True)
class Where:
    """Where the answer to one message goes."""

    user: str  # the asker's staff id: their direct chat with the robot
    group: str | None = None  # openConversationId when asked in a group
    webhook: str | None = None  # the message's sessionWebhook
    expires: int = 0  # sessionWebhookExpiredTime, ms


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def message_event(data: dict, webhooks: frozenset[str] = frozenset()) -> tuple[ChatEvent, Where] | None:
    """A robot message callback (the same JSON in both modes) as a ChatEvent; None for pictures,
    files, other messages without text and fields of the wrong type. A sessionWebhook outside
    `webhooks` (origins) is dropped: the answer then goes through the OpenAPI."""
    if data.get("msgtype") == "text":
        text = _text(_dict(data.get("text")).get("content"))
    elif data.get("msgtype") == "richText":
        parts = _dict(data.get("content")).get("richText")
        text = "".join(_text(_dict(part).get("text")) for part in (parts if isinstance(parts, list) else []))
    else:
        return None
    user = _text(data.get("senderStaffId")) or _text(data.get("senderId"))  # no staff id: outside the org
    msg_id = data.get("msgId")
    if not user or not isinstance(msg_id, str) or not msg_id or len(msg_id) > 150:
        return None
    group = _text(data.get("conversationId")) or None if str(data.get("conversationType")) == "2" else None
    event = ChatEvent("dingtalk", f"msg:{msg_id}", user, text.strip(), datetime.now(timezone.utc),
                      "group" if group else "direct", group or user)
    webhook = _text(data.get("sessionWebhook")) or None
    if webhook is not None and origin(webhook) not in webhooks:
        log.warning("sessionWebhook of message %s is not on DingTalk's host; answering through the OpenAPI", msg_id)
        webhook = None
    expires = data.get("sessionWebhookExpiredTime")
    expires = expires if isinstance(expires, int) and 0 <= expires < 10**15 else 0
    return event, Where(user, group, webhook, expires)


class DingTalk:
    def __init__(self, service, *, client_id: str, client_secret: str, api_base: str, webhook_base: str | None = None):
        self.service = service
        self.client_id, self.client_secret, self.api_base = client_id, client_secret, api_base.rstrip("/")
        self.webhooks = webhook_origins(api_base, webhook_base)
        self.workers = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dingtalk")
        self._stream: Stream | None = None
        service.inbox.route("dingtalk", lambda route: self.queue_for(Where(**route)))

    # -- the work, on the thread pool ---------------------------------------------------------
    def submit(self, work: Callable[[dict], None], data: dict) -> None:
        self.workers.submit(self._safely, work, data)

    @staticmethod
    def _safely(work: Callable[[dict], None], data: dict) -> None:
        try:
            work(data)
        except Exception:  # the pipeline answers its own errors; this is delivery or parsing
            log.exception("DingTalk callback %s failed", data.get("msgId") or data.get("outTrackId"))

    def on_message(self, data: dict) -> None:
        """Accept a message (kept in the database when this returns; raises when it cannot be)."""
        parsed = message_event(data, self.webhooks)
        if parsed is not None:  # None: pictures and other messages without text
            event, where = parsed
            self.service.inbox.take(event, asdict(where))

    def on_click(self, data: dict) -> None:
        track, user = data.get("outTrackId"), data.get("userId")
        content = data.get("content") or {}
        content = json.loads(content) if isinstance(content, str) else content
        value = ((content.get("cardPrivateData") or {}).get("params") or {}).get("value")
        if not track or not user or value in (None, ""):
            return
        with self.service.app.db.session() as session:
            card = session.scalar(select(OutboxMessage).where(  # queued here, or elsewhere and sent
                OutboxMessage.channel == "dingtalk",
                or_(OutboxMessage.ref == f"card:{track}", OutboxMessage.platform_message_id == track)))
            target, body = (card.target, dict(card.body)) if card is not None else (user, {})
        if body.get("asker", user) != user:
            log.info("card %s clicked by %s, not by %s who asked; ignored", track, user, body["asker"])
            return
        group = target.removeprefix(GROUP) if target.startswith(GROUP) else None
        where = Where(user, group, body.get("session_webhook"), int(body.get("session_webhook_expires") or 0))
        frame = data.get(FRAME_ID)  # the same when the gateway pushes the click again
        event = ChatEvent("dingtalk", f"click:{frame or uuid.uuid4().hex}", user, str(value),
                          datetime.now(timezone.utc), "group" if group else "direct", group or user,
                          once_key=f"card:{track}:{user}")  # a card answers each person's first click only
        with self.service.inbox.person(event):
            reply = self.service.pipeline.handle(event, queue=self.queue_for(where))
        if reply is None:
            return
        if not reply.refused:  # refused: not theirs to decide, the card stays as it was, for its approver
            self._chosen(card, track, body, str(value))
        self.service.dispatcher.run_once()

    def _chosen(self, card: OutboxMessage | None, track: str, body: dict, value: str) -> None:
        """The card's buttons go, the choice stays visible."""
        sender = self.service.senders.get("dingtalk")
        if card is None or sender is None:
            return
        label = next((c["label"] for c in body.get("choices") or [] if c["value"] == value), value)
        chosen = self.service.app.messages.t("choice_made", language_of(body.get("text", "")) or "zh", label=label)
        try:
            sender.update_card(track, body, chosen)
        except Exception:
            log.warning("card update after a click failed", exc_info=True)

    def queue_for(self, where: Where):
        """A bot.delivery.Queue for the answer to a message asked `where`."""
        def queue(session, target: str, reply: Reply) -> None:
            in_group = where.group is not None and target == where.group
            # The group's sessionWebhook posts in the group: a direct message from a group goes without it.
            self._queue(session, GROUP + target if in_group else target, reply,
                        where if in_group or where.group is None else Where(where.user))
        return queue

    @staticmethod
    def _queue(session, target: str, reply: Reply, where: Where) -> None:
        # A card's outTrackId is chosen here: a click finds its card by it, sent or not yet marked so;
        # only the person who asked may answer it, also in a group.
        card = uuid.uuid4().hex if reply.choices else None
        row = enqueue(session=session, channel="dingtalk", target=target, reply=reply,
                      ref=f"card:{card}" if card else None)
        extra = {"card_id": card, "asker": where.user} if card else {}
        if where.webhook:
            extra.update(session_webhook=where.webhook, session_webhook_expires=where.expires)
        if extra:
            row.body = {**row.body, **extra}

    # -- HTTP mode ----------------------------------------------------------------------------
    def router(self) -> APIRouter:
        api = APIRouter()

        @api.post("/dingtalk/callback")
        async def receive(request: Request):
            if not valid_signature(self.client_secret, request.headers.get("timestamp"),
                                   request.headers.get("sign"), int(time.time() * 1000)):
                return JSONResponse({"error": "invalid or stale signature"}, status_code=401)
            try:  # json's C parser stops deep nesting with RecursionError; the body is at most 64 KB
                data = json.loads(await request.body())
            except (ValueError, RecursionError):
                return JSONResponse({"error": "not JSON"}, status_code=400)
            if not isinstance(data, dict):
                return JSONResponse({"error": "not a message"}, status_code=400)
            try:  # kept before DingTalk is told it arrived; answered through the outbox
                await asyncio.wrap_future(self.workers.submit(self.on_message, data))
            except Exception:
                log.warning("DingTalk message could not be accepted; DingTalk will retry", exc_info=True)
                return JSONResponse({"error": "try again"}, status_code=503)
            return JSONResponse({})

        return api

    # -- Stream mode --------------------------------------------------------------------------
    def start_stream(self) -> None:
        self._stream = Stream(self.client_id, self.client_secret, self.api_base,
                              on_message=self.on_message,
                              on_click=lambda data: self.submit(self.on_click, data))
        self._stream.start()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        self.workers.shutdown(wait=True)
