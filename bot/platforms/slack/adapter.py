"""Slack with slack_bolt: events and button clicks at /slack/events (or Socket Mode).

bolt acks within Slack's 3 s before the listener runs (process_before_response=False); the event
id is the message id, so the pipeline's dedupe answers Slack's retries (X-Slack-Retry-Num) once. A
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

from bot.delivery import deliver
from bot.events import ChatEvent

log = logging.getLogger("brokerbot.slack")


def build(service, *, bot_token: str, signing_secret: str, api_base: str) -> App:
    client = WebClient(token=bot_token, base_url=api_base, timeout=5)
    bolt = App(client=client, signing_secret=signing_secret, token_verification_enabled=False,
               process_before_response=False)
    messages = service.app.messages

    def answer(event: ChatEvent) -> None:
        reply = service.pipeline.handle(event)
        if reply is not None:  # None: Slack's retry of an event already taken
            deliver(service, event, reply)

    @bolt.event("message")
    def on_message(event: dict, body: dict) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins and our own messages
        chat_type = "direct" if event.get("channel_type") == "im" else "group"
        answer(ChatEvent("slack", f"event:{body.get('event_id')}", event["user"], event.get("text", ""),
                         datetime.now(timezone.utc), chat_type, event["channel"]))

    @bolt.action(re.compile(r"^choice_"))
    def on_choice(ack, body: dict, action: dict) -> None:
        ack()
        channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
        event = ChatEvent("slack", f"action:{ts}:{action.get('action_ts')}", body["user"]["id"], action["value"],
                          datetime.now(timezone.utc), "direct", channel)
        reply = service.pipeline.handle(event)
        if reply is None:
            return
        if reply.refused:  # not theirs to decide: the card keeps its buttons, the clicker alone is told
            deliver(service, event, reply, to=event.user_id)
            return
        label = action.get("text", {}).get("text") or action["value"]
        try:  # the buttons go, the choice stays visible
            client.chat_update(channel=channel, ts=ts, text=messages.t("choice_made", label=label), blocks=[])
        except Exception:
            log.warning("chat.update after a click failed", exc_info=True)
        deliver(service, event, reply)

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
