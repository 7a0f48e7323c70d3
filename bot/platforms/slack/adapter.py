"""Slack with slack_bolt: events and button clicks at /slack/events (or Socket Mode).

bolt acks within Slack's 3 s before the listener runs (process_before_response=False); the event
id is the message id, so the pipeline's dedupe answers Slack's retries (X-Slack-Retry-Num) once. A
reply that shows a client's figures never goes to a channel (bot.delivery): it goes to the asker's
DM instead. A click the
pipeline refuses (an approval card that is not theirs to decide) leaves the card as it was and is
answered in the clicker's DM.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient

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


def router(bolt: App) -> APIRouter:
    handler = SlackRequestHandler(bolt)
    api = APIRouter()

    @api.post("/slack/events")
    async def events(request: Request):
        return await handler.handle(request)

    return api
