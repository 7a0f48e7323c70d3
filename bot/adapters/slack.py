"""Slack with slack_bolt: events and button clicks at /slack/events (or Socket Mode).

bolt acks within Slack's 3 s before the listener runs (process_before_response=False); the
listener claims the event id, so Slack's retries (X-Slack-Retry-Num) answer once. A reply that
shows a client's figures never goes to a channel: it goes to the asker's DM instead. A click the
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

from bot.events import ChatEvent
from crm_core.inbox import claim
from intents.rules import language_of
from messaging.replies import Reply
from notifiers.outbox import enqueue

log = logging.getLogger("brokerbot.slack")


def build(service, *, bot_token: str, signing_secret: str, api_base: str) -> App:
    client = WebClient(token=bot_token, base_url=api_base, timeout=5)
    bolt = App(client=client, signing_secret=signing_secret, token_verification_enabled=False,
               process_before_response=False)
    messages = service.app.messages

    def take(event: ChatEvent) -> Reply | None:
        """Claim the event and answer it; None for a retry of an event already taken."""
        with service.app.db.transaction() as session:
            if not claim(session=session, platform="slack", key=event.message_id, now=event.received_at):
                return None
        return service.pipeline.handle(event)

    def answer(event: ChatEvent, channel: str) -> None:
        reply = take(event)
        if reply is not None:
            deliver(event, channel, reply)

    def deliver(event: ChatEvent, channel: str, reply: Reply) -> None:
        with service.app.db.transaction() as session:
            if event.chat_type == "group" and reply.private:
                enqueue(session=session, channel="slack", target=event.user_id, reply=reply)
                enqueue(session=session, channel="slack", target=channel,
                        reply=Reply(messages.t("answered_in_dm", language_of(event.text) or "zh")))
            else:
                enqueue(session=session, channel="slack", target=channel, reply=reply)
        service.dispatcher.run_once()

    @bolt.event("message")
    def on_message(event: dict, body: dict) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins and our own messages
        chat_type = "direct" if event.get("channel_type") == "im" else "group"
        answer(ChatEvent("slack", f"event:{body.get('event_id')}", event["user"], event.get("text", ""),
                         datetime.now(timezone.utc), chat_type, event.get("channel")), event["channel"])

    @bolt.action(re.compile(r"^choice_"))
    def on_choice(ack, body: dict, action: dict) -> None:
        ack()
        channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
        event = ChatEvent("slack", f"action:{ts}:{action.get('action_ts')}", body["user"]["id"], action["value"],
                          datetime.now(timezone.utc), "direct", channel)
        reply = take(event)
        if reply is None:
            return
        if reply.refused:  # not theirs to decide: the card keeps its buttons, the clicker alone is told
            deliver(event, event.user_id, reply)
            return
        label = action.get("text", {}).get("text") or action["value"]
        try:  # the buttons go, the choice stays visible
            client.chat_update(channel=channel, ts=ts, text=messages.t("choice_made", label=label), blocks=[])
        except Exception:
            log.warning("chat.update after a click failed", exc_info=True)
        deliver(event, channel, reply)

    return bolt


def router(bolt: App) -> APIRouter:
    handler = SlackRequestHandler(bolt)
    api = APIRouter()

    @api.post("/slack/events")
    async def events(request: Request):
        return await handler.handle(request)

    return api
