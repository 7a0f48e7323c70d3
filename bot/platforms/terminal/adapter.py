"""The terminal as a chat platform: a line in, a ChatEvent; a Reply out, printed text. A reply's
images and files are saved to a folder (the data folder's `attachments/`) and their paths printed."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, TextIO

from bot.events import ChatEvent
from messaging.replies import Reply


class TerminalSession:
    """Feeds lines to `handle` as one staff member. With a fixed clock (--now), each message
    is one second after the previous so that ordering stays real."""

    def __init__(self, login: str, handle: Callable[[ChatEvent], Reply], *, now: datetime | None, tz,
                 attachments_dir: Path | None = None, saved_line: Callable[[Path], str] | None = None):
        self.attachments_dir = attachments_dir or Path.cwd() / "attachments"
        self.saved_line = saved_line or (lambda path: f"📎 {path}")
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

    def show(self, reply: Reply) -> str:
        """The reply's text, and a line with the path of each attachment, saved."""
        saved = save_attachments(reply, self.attachments_dir)
        return "\n".join([render(reply), *(self.saved_line(path) for path in saved)])


def render(reply: Reply) -> str:
    return reply.text


def save_attachments(reply: Reply, folder: Path) -> list[Path]:
    """Writes each attachment into `folder` under its own name; a name already taken gets " (2)",
    " (3)"... so nothing is overwritten. Returns the paths written."""
    paths = []
    for attachment in reply.attachments:
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(attachment.filename).name
        path, n = folder / name, 1
        while path.exists():
            n += 1
            path = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
        path.write_bytes(attachment.content)
        paths.append(path.resolve())
    return paths


def run_lines(session: TerminalSession, lines: Iterable[str], out: TextIO) -> int:
    """Answers each non-blank line; returns how many were answered."""
    count = 0
    for line in lines:
        text = line.strip()
        if not text:
            continue
        out.write(session.show(session.send(text)) + "\n\n")
        out.flush()
        count += 1
    return count
