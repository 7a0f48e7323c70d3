"""A test platform for whole conversations (errbot's `backends/test.py`): `push` a message as a
staff member, in a direct or a group chat, through the real pipeline; `pop` what was said back,
in order: the answer to the asker (or, for a private answer asked in a group, the answer by direct
message and the note left in the group), then what went to other people through the outbox
(approval cards, decisions, alerts), each with who or which chat received it.

    bot = TestBot(app, now=NOW)
    bot.push("张伟的保证金", as_="m1")
    said = bot.pop()            # Said(to="m1", chat="direct", text="有 2 位客户符合…"); said.values == ["1", "2"]
    bot.push("2", as_="m1")
    talk = bot.person("m1")     # one person's chat: talk.send(text) -> the Reply
    bot.push("同意 #1", as_="sup1"); bot.to("m1")   # what went to 王芳 (her approval notice)

Where an answer goes is bot.delivery's group-privacy rule, the one every platform applies (a
private reply asked in a group goes to the asker directly, the group reads `answered_in_dm`).
"""
from __future__ import annotations

import itertools
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.delivery import destinations
from bot.events import ChatEvent
from bot.pipeline import Pipeline
from crm_core.outbox import OutboxMessage
from crm_core.staff import Staff
from messaging.replies import Reply
from notifiers.outbox import unseal

GROUP = "G-TEST"  # the group chat a `chat: group` message is said in
# Outbox channels that post in a group chat; every other channel is a direct message.
GROUP_CHANNELS = {"wecom_webhook", "dingtalk_webhook", "slack_channel"}
PLATFORM_ID = {"wecom": "wecom_userid", "dingtalk": "dingtalk_userid", "slack": "slack_user_id"}


@dataclass
class Said:
    """One message the bot sent: to a person (their login) or a group chat."""

    to: str
    chat: str  # direct | group
    text: str
    title: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    purpose: str = "reply"  # reply (the answer itself) or the outbox's purpose: approval, alert...
    intent: str | None = None  # the intent the pipeline took, for the answer to a pushed message

    @property
    def values(self) -> list[str]:
        return [value for _, value in self.choices]

    def value_of(self, label: str) -> str:
        """The value a button labelled `label` sends back (a click)."""
        for shown, value in self.choices:
            if shown == label:
                return value
        raise AssertionError(f"no button {label!r} in {self.choices} of {self.text[:200]!r}")


class _Intents(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.taken: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "intent"):
            self.taken.append(record.intent)


class TestBot:
    """The real pipeline, a fixed clock (each message one second after the previous), and a queue
    of what was said. `platform` is the platform the messages come from ("terminal": the user id is
    the login; "wecom" and the others: the staff member's id on that platform)."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, app, *, now: datetime, platform: str = "terminal", pipeline: Pipeline | None = None):
        self.app = app
        self.pipeline = pipeline or Pipeline(app)
        self.platform = platform
        self.now = now
        self.queue: deque[Said] = deque()
        self.intent: str | None = None  # the intent of the last pushed message
        self._n = itertools.count()
        self._seen_outbox = self._last_outbox_id()

    # -- saying ---------------------------------------------------------------------------------
    def push(self, text: str, *, as_: str, chat: str = "direct", at: datetime | None = None,
             message_id: str | None = None, group: str = GROUP) -> Reply:
        """One message from `as_` (a login); returns the pipeline's Reply and queues what was said."""
        n = next(self._n)
        event = ChatEvent(self.platform, message_id or f"testbot-{id(self)}-{n}", self.user_id(as_), text,
                          at or self.now + timedelta(seconds=n), chat, group if chat == "group" else None)
        watcher = _Intents()
        logger = logging.getLogger("brokerbot.pipeline")
        logger.addHandler(watcher)
        level = logger.level
        logger.setLevel(logging.INFO)
        try:
            reply = self.pipeline.handle(event)
        finally:
            logger.removeHandler(watcher)
            logger.setLevel(level)
        self.intent = watcher.taken[-1] if watcher.taken else None
        self.queue.extend(self._delivered(event, as_, reply))
        self.collect()
        return reply

    def _delivered(self, event: ChatEvent, login: str, reply: Reply) -> list[Said]:
        """Where the answer goes, as a chat platform delivers it: a private answer asked in a group
        goes to the asker directly and the group reads a note (SPEC: group chat privacy)."""
        said = []
        for target, message in destinations(event, reply, self.app.messages):
            where = "group" if event.chat_type == "group" and target == event.chat_id else "direct"
            said.append(Said(login if where == "direct" else target, where, text=message.text, title=message.title,
                             choices=[(c.label, c.value) for c in message.choices], intent=self.intent))
        return said

    def person(self, login: str) -> Person:
        return Person(self, login)

    def ask(self, login: str, text: str, **how) -> str:
        """The text of the answer to one message (the rest stays in the queue)."""
        return self.push(text, as_=login, **how).text

    # -- reading --------------------------------------------------------------------------------
    def collect(self) -> list[Said]:
        """Queues what the outbox received since the last look (sent by anything: a message, a
        scheduled job), in order, and returns it."""
        with self.app.db.session() as session:
            rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id > self._seen_outbox)
                                        .order_by(OutboxMessage.id)))
            logins = self._logins(session)
            cipher = self.app.db.cipher
            said = []
            for row in rows:
                body = unseal(dict(row.body or {}), cipher)
                group = row.channel in GROUP_CHANNELS
                said.append(Said(row.target if group else logins.get(row.target, row.target),
                                 "group" if group else "direct", body.get("text", ""), body.get("title"),
                                 [(c["label"], c["value"]) for c in body.get("choices") or []], row.purpose))
                self._seen_outbox = row.id
        self.queue.extend(said)
        return said

    def pop(self) -> Said:
        self.collect()
        if not self.queue:
            raise AssertionError("the bot said nothing more")
        return self.queue.popleft()

    def pop_all(self) -> list[Said]:
        self.collect()
        said, self.queue = list(self.queue), deque()
        return said

    def to(self, who: str) -> list[Said]:
        """Pops and returns everything said to `who` (a login or a group chat id); the rest stays."""
        self.collect()
        mine = [s for s in self.queue if s.to == who]
        self.queue = deque(s for s in self.queue if s.to != who)
        return mine

    # -- identities -----------------------------------------------------------------------------
    def user_id(self, login: str) -> str:
        if self.platform == "terminal":
            return login
        with self.app.db.session() as session:
            staff = session.scalar(select(Staff).where(Staff.login == login))
            found = getattr(staff, PLATFORM_ID[self.platform], None) if staff else None
        return found or login  # someone not registered writes under their login

    def _logins(self, session) -> dict[str, str]:
        """Every platform id (and login) of the staff -> the login."""
        logins = {}
        for staff in session.scalars(select(Staff)):
            for name in ("login", *PLATFORM_ID.values()):
                if getattr(staff, name):
                    logins[getattr(staff, name)] = staff.login
        return logins

    def _last_outbox_id(self) -> int:
        with self.app.db.session() as session:
            return session.scalar(select(func.max(OutboxMessage.id))) or 0


class Person:
    """One staff member's chat, for tests that read their answers one by one: `send` returns the
    Reply (what `TerminalSession.send` returned) and leaves the queue alone for `bot.pop`."""

    def __init__(self, bot: TestBot, login: str):
        self.bot, self.login = bot, login

    def send(self, text: str, **how) -> Reply:
        return self.bot.push(text, as_=self.login, **how)

    def say(self, text: str, **how) -> str:
        return self.send(text, **how).text
