"""Platform-neutral incoming messages. Adapters turn platform payloads into these."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ChatEvent:
    platform: str  # a registered platform (bot/platforms/): terminal, wecom, dingtalk, slack
    message_id: str  # the platform's id; the dedupe key
    user_id: str  # the platform's user id (terminal: the staff login)
    text: str
    received_at: datetime
    chat_type: str = "direct"  # direct | group
    chat_id: str | None = None  # where it was asked (a group, a channel); the answer goes there
    # A second dedupe key, given back when the answer is refused: a card click's "one per person
    # per card" (bot.pipeline.Pipeline.dedupe).
    once_key: str | None = None
