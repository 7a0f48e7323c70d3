"""Slack with slack_bolt: events and button clicks at /slack/events (or Socket Mode).

A message is accepted into the inbox (bot.inbox: kept in the database) before Slack's request is
answered (process_before_response=True: the listener only keeps it, well within Slack's 3 s), and
answered by a worker through the outbox; a database that cannot keep it makes the request fail,
so Slack retries. The event id is the message id, so Slack's retries (X-Slack-Retry-Num) are
answered once. A button click is acked at once and answered on a worker thread, its claim in the
answer's transaction (a click lost to a crash leaves the card's buttons, to be clicked again). A
reply that shows a client's figures never goes to a channel (bot.delivery): it goes to the asker's
DM instead. A click the
pipeline refuses (an approval card that is not theirs to decide) leaves the card as it was and is
answered in the clicker's DM.

Outsiders (issue 12): slack_bolt parses a body before it verifies the signature, so a request is
verified here first (slack_sdk's SignatureVerifier: HMAC of the raw body, the timestamp within
5 minutes) and refused with 401 unparsed; a signed body bolt cannot read gets a 400, never a 500.
"""
from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier

from bot.delivery import plain
from bot.events import ChatEvent

log = logging.getLogger("brokerbot.slack")


def build(service, *, bot_token: str, signing_secret: str, api_base: str) -> App:
    client = WebClient(token=bot_token, base_url=api_base, timeout=5)
    bolt = App(client=client, signing_secret=signing_secret, token_verification_enabled=False,
               process_before_response=True)
    messages = service.app.messages
    queue = plain("slack")

    @bolt.event("message")
    def on_message(event: dict, body: dict) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins and our own messages
        chat_type = "direct" if event.get("channel_type") == "im" else "group"
        service.inbox.take(ChatEvent("slack", f"event:{body.get('event_id')}", event["user"], event.get("text", ""),
                         datetime.now(timezone.utc), chat_type, event["channel"]))

    @bolt.action(re.compile(r"^choice_"))
    def on_choice(ack, body: dict, action: dict) -> None:
        ack()
        service.inbox.pool.submit(logged, clicked, body, action)

    def clicked(body: dict, action: dict) -> None:
        channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
        event = ChatEvent("slack", f"action:{ts}:{action.get('action_ts')}", body["user"]["id"], action["value"],
                          datetime.now(timezone.utc), "direct", channel)

        def to_clicker(session, target: str, reply) -> None:
            # not theirs to decide: the card keeps its buttons, the clicker alone is told
            queue(session, event.user_id if reply.refused else target, reply)

        reply = service.pipeline.handle(event, queue=to_clicker)
        if reply is None:
            return
        if not reply.refused:
            label = action.get("text", {}).get("text") or action["value"]
            try:  # the buttons go, the choice stays visible
                client.chat_update(channel=channel, ts=ts, text=messages.t("choice_made", label=label), blocks=[])
            except Exception:
                log.warning("chat.update after a click failed", exc_info=True)
        service.dispatcher.run_once()

    def logged(work, *args) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("Slack click failed")

    return bolt


REPLAY_WINDOW = 300  # seconds: Slack's own (and SignatureVerifier's) five minutes


def verified(secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float) -> bool:
    """Slack's v0 signature over the raw bytes. SignatureVerifier would raise on a timestamp that is
    not a number or a body that is not UTF-8 (a 500 for anyone), so those are refused first."""
    if not timestamp or not signature or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > REPLAY_WINDOW:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return SignatureVerifier(secret, clock=_Clock(now)).is_valid(body, timestamp, signature)


class _Clock(Clock):
    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def router(bolt: App, signing_secret: str) -> APIRouter:
    handler = SlackRequestHandler(bolt)
    api = APIRouter()

    @api.post("/slack/events")
    async def events(request: Request):
        body = await request.body()  # at most 512 KB (bot/http.py)
        if not verified(signing_secret, body, request.headers.get("x-slack-request-timestamp"),
                        request.headers.get("x-slack-signature"), time.time()):
            return JSONResponse({"error": "invalid or stale signature"}, status_code=401)
        try:
            return await handler.handle(request)
        except Exception:  # signed, but not a payload bolt can read (the listeners run on bolt's threads)
            log.warning("a signed Slack request bolt could not read", exc_info=True)
            return JSONResponse({"error": "bad request"}, status_code=400)

    return api
