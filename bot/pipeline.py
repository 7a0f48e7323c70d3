"""One message through brokerbot, the same for every platform:

    ChatEvent -> middleware (errors, database transaction, identity, conversation state)
              -> recognise -> resolve the client (permission) -> handler -> Reply
              -> the reply queued in the outbox and the message marked answered, in the same
                 transaction as the handler's writes

Middleware are functions `(ctx, next) -> Reply` run in order; each may stop the chain. `handle`
returns None for an event already answered (a platform's retry): dedupe is durable (crm_core.inbox),
so it holds across restarts and replicas, and it commits with the answer, so a crash in between
leaves the message to be answered again rather than swallowed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.events import ChatEvent
from bot.logs import new_correlation_id
from bot.delivery import Queue, destinations, direct_notifier
from bot.platforms import registry
from crm_core import audit, conversations
from crm_core.base import Source
from crm_core.inbox import DONE, FAILED, claim, finish
from crm_core.staff import Staff, staff_by_platform_id
from intents.context import HandlerContext
from intents.dialog import Dialog
from crm_core.masking import mask_personal
from intents.mentions import index_seen_by
from intents.recognize import Recognizer, build_recognizer
from intents.registry import PACKAGES, load_all
from intents.rules import language_of
from intents.types import Intent
from messaging.replies import Reply

log = logging.getLogger("brokerbot.pipeline")


@dataclass
class Turn:
    """One message on its way through the pipeline."""

    event: ChatEvent
    lang: str
    correlation_id: str
    session: object = None
    staff: Staff | None = None
    state: dict = field(default_factory=dict)
    intent: Intent | None = None
    queue: Queue | None = None
    inbox_id: int | None = None


Middleware = Callable[[Turn, Callable[[], Reply]], Reply]


class Transient(Exception):
    """The answer could not be made for a reason that passes (the database is down or locked): the
    message is not marked answered, so it is answered when it is tried again (a platform's retry,
    or bot.inbox's recovery of pending rows)."""


def transient(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Pipeline:
    def __init__(self, app, recognizer: Recognizer | None = None):
        self.app = app
        self.recognizer = recognizer or build_recognizer(app.settings)
        self.handlers = load_all((*PACKAGES, *app.settings.intent_packages))
        self.platforms = registry.load_all()
        self.middleware: list[Middleware] = [self.errors, self.database, self.identity, self.conversation]

    # -- entry point --------------------------------------------------------------------------
    def handle(self, event: ChatEvent, *, queue: Queue | None = None, inbox_id: int | None = None,
               answer: Callable[[], Reply] | None = None) -> Reply | None:
        """The answer to `event`, queued for delivery by `queue` (bot.delivery; None: the caller shows
        it, as the terminal does) in the same transaction as the handler's writes and the message's claim: all of
        it commits, or none (unit of work, issue 12). None when the event was answered already (a
        platform's retry). `inbox_id`: the crm_core.inbox row it was accepted as. `answer`: an
        answer known without the handlers (a click on a stale card), given once too. Raises
        Transient when the database is unreachable: nothing is marked answered then."""
        turn = Turn(event=event, lang=language_of(event.text) or "zh", correlation_id=new_correlation_id(),
                    queue=queue, inbox_id=inbox_id)
        chain = list(self.middleware) if answer is None else [self.errors, self.database]
        last = answer if answer is not None else (lambda: self.respond(turn))

        def call(i: int) -> Reply:
            if i == len(chain):
                return last()
            return chain[i](turn, lambda: call(i + 1))

        return call(0)

    # -- middleware ---------------------------------------------------------------------------
    def claimed(self, session, turn: Turn, reply: Reply, status: str = DONE) -> bool:
        """Mark the event answered in the answer's transaction; False when it was answered before
        (the caller rolls back). An event with `once_key` (a card click: one per person per card)
        claims that too, unless the answer is refused (someone else's approval card): the card
        keeps its buttons for the person who may decide."""
        event = turn.event
        if turn.inbox_id is not None:
            if not finish(session=session, row_id=turn.inbox_id, status=status):
                return False
        else:
            platform = self.platforms.get(event.platform)
            if (platform is None or platform.dedupe) and not claim(
                    session=session, platform=event.platform, key=event.message_id, now=event.received_at):
                return False
        if event.once_key and not reply.refused:
            return claim(session=session, platform=event.platform, key=event.once_key, now=event.received_at)
        return True

    def queue(self, session, turn: Turn, reply: Reply) -> None:
        if turn.queue is None:
            return
        for target, message in destinations(turn.event, reply, self.app.messages):
            turn.queue(session, target, message)

    def errors(self, turn: Turn, nxt) -> Reply | None:
        """A transient failure raises Transient (the message stays unanswered and is tried again);
        any other is logged with its traceback and answered with an apology carrying the
        correlation id, and the message counts as answered."""
        try:
            return nxt()
        except Exception as exc:
            event = turn.event
            if transient(exc):
                log.warning("message %s from %s:%s not answered yet (%s); it will be tried again",
                            event.message_id, event.platform, event.user_id, type(exc).__name__)
                raise Transient(str(exc)) from exc
            log.exception("message %s from %s:%s failed", event.message_id, event.platform, event.user_id)
            apology = Reply(self.app.messages.t("internal_error", turn.lang, ref=turn.correlation_id))
            try:
                with self.app.db.session() as session:
                    if not self.claimed(session, turn, apology, FAILED):
                        session.rollback()
                        return None
                    self.queue(session, turn, apology)
                    session.commit()
            except Exception as again:
                if transient(again):
                    raise Transient(str(again)) from again
                raise
            return apology

    def database(self, turn: Turn, nxt) -> Reply | None:
        """One transaction for the answer: the handler's writes, the reply queued and the claim."""
        with self.app.db.session() as session:
            turn.session = session
            try:
                reply = nxt()
                if reply is None or not self.claimed(session, turn, reply):
                    session.rollback()
                    return None  # answered before: a platform's retry, a second click
                self.queue(session, turn, reply)
                session.commit()
                return reply
            except BaseException:
                session.rollback()
                raise

    def identity(self, turn: Turn, nxt) -> Reply:
        event = turn.event
        staff = staff_by_platform_id(session=turn.session, platform=event.platform, user_id=event.user_id)
        if staff is None or not staff.active:
            log.warning("message from unknown %s user %s", event.platform, event.user_id)
            audit.record(session=turn.session, actor=f"{event.platform}:{event.user_id}", action="access.denied",
                         details={"reason": "not a registered staff member" if staff is None else "inactive"},
                         source=self.source(event))
            return Reply(self.app.messages.t("unknown_user", turn.lang), refused=True)
        turn.staff = staff
        return nxt()

    def conversation(self, turn: Turn, nxt) -> Reply:
        key = dict(session=turn.session, staff_id=turn.staff.id, platform=turn.event.platform)
        turn.state = conversations.load_state(**key, now=turn.event.received_at,
                                              idle=self.app.settings.context_idle)
        # A bare "2" answers in the language of the conversation so far.
        turn.lang = language_of(turn.event.text) or turn.state.get("lang") or "zh"
        turn.state["lang"] = turn.lang
        reply = nxt()
        conversations.save_state(**key, now=turn.event.received_at, state=turn.state)
        return reply

    # -- the core -----------------------------------------------------------------------------
    def context(self, turn: Turn) -> HandlerContext:
        event = turn.event
        db = self.app.db
        return HandlerContext(
            session=turn.session, staff=turn.staff, now=event.received_at.astimezone(db.tz), tz=db.tz,
            lang=turn.lang, texts=self.app.messages, risk_rules=self.app.risk_rules, cipher=db.cipher,
            source=self.source(event), state=turn.state, suitability=self.app.suitability,
            approval_flows=self.app.approval_flows, chat_type=event.chat_type,
            notify=direct_notifier(turn.session, self.app.settings, event.received_at))

    @staticmethod
    def source(event: ChatEvent) -> Source:
        return Source(platform=event.platform, message_id=event.message_id, user=event.user_id, text=event.text)

    def recognize(self, turn: Turn) -> Intent:
        ctx_now = turn.event.received_at.astimezone(self.app.db.tz)
        # The asker's own view: another team's client reads as an unknown name (no existence leak).
        return self.recognizer.recognize(turn.event.text, index=index_seen_by(turn.session, turn.staff), now=ctx_now)

    def respond(self, turn: Turn) -> Reply:
        ctx = self.context(turn)
        dialog = Dialog(self.handlers, lambda text: self.recognize(turn))
        turn.intent, reply = dialog.respond(ctx, turn.event.text)
        if turn.intent is not None:
            slots, _ = mask_personal(str(turn.intent.slots))  # logs never hold phone or ID numbers
            log.info("intent %s slots=%s confidence=%.2f source=%s", turn.intent.name, slots,
                     turn.intent.confidence, turn.intent.source,
                     extra={"platform": turn.event.platform, "message_id": turn.event.message_id,
                            "user": turn.event.user_id, "intent": turn.intent.name})
        return reply
