"""The terminal as a chat platform: a line in, a ChatEvent; a Reply out, printed text."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Callable, Iterable, TextIO

from bot.events import ChatEvent
from intents.replies import Reply


class TerminalSession:
    """Feeds lines to `handle` as one staff member. With a fixed clock (--now), each message
    is one second after the previous so that ordering stays real."""

    def __init__(self, login: str, handle: Callable[[ChatEvent], Reply], *, now: datetime | None, tz):
        self.login = login
        self.handle = handle
        self.fixed_now = now
        self.tz = tz
        self._count = itertools.count()
        self._run = uuid.uuid4().hex[:8]

    def event(self, text: str) -> ChatEvent:
        n = next(self._count)
        moment = (self.fixed_now + timedelta(seconds=n)) if self.fixed_now else datetime.now(self.tz)
        return ChatEvent(platform="terminal", message_id=f"terminal-{self._run}-{n}", user_id=self.login,
                         text=text, received_at=moment)

    def send(self, text: str) -> Reply:
        return self.handle(self.event(text))


def render(reply: Reply) -> str:
    return reply.text


def run_lines(session: TerminalSession, lines: Iterable[str], out: TextIO) -> int:
    """Answers each non-blank line; returns how many were answered."""
    count = 0
    for line in lines:
        text = line.strip()
        if not text:
            continue
        out.write(render(session.send(text)) + "\n\n")
        out.flush()
        count += 1
    return count
