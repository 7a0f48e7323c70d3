"""One message through brokerbot, the same for every platform:

    ChatEvent -> middleware (dedupe, errors, database session, identity, conversation state)
              -> recognise -> resolve the client (permission) -> handler -> Reply

Middleware are functions `(ctx, next) -> Reply` run in order; each may stop the chain. `handle`
returns None for an event already answered (a platform's retry): dedupe is durable (crm_core.inbox),
so it holds across restarts and replicas.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from bot.events import ChatEvent
from bot.logs import new_correlation_id
from bot.delivery import direct_notifier
from bot.platforms import registry
from crm_core import audit, conversations
from crm_core.base import Source
from crm_core.inbox import claim, release
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


Middleware = Callable[[Turn, Callable[[], Reply]], Reply]


class Pipeline:
    def __init__(self, app, recognizer: Recognizer | None = None):
        self.app = app
        self.recognizer = recognizer or build_recognizer(app.settings)
        self.handlers = load_all((*PACKAGES, *app.settings.intent_packages))
        self.platforms = registry.load_all()
        self.middleware: list[Middleware] = [self.dedupe, self.errors, self.database, self.identity, self.conversation]

    # -- entry point --------------------------------------------------------------------------
    def handle(self, event: ChatEvent) -> Reply | None:
        turn = Turn(event=event, lang=language_of(event.text) or "zh", correlation_id=new_correlation_id())
        chain = list(self.middleware)

        def call(i: int) -> Reply:
            if i == len(chain):
                return self.respond(turn)
            return chain[i](turn, lambda: call(i + 1))

        return call(0)

    def once(self, event: ChatEvent, answer: Callable[[], Reply]) -> Reply | None:
        """`answer()` under the dedupe middleware alone: an answer the adapter knows without the
        pipeline (a click on a stale card) is given once too; None for a retry."""
        return self.dedupe(Turn(event=event, lang="zh", correlation_id=new_correlation_id()), answer)

    # -- middleware ---------------------------------------------------------------------------
    def dedupe(self, turn: Turn, nxt) -> Reply | None:
        """Each event is answered once: its message_id is claimed before the answer (a retry finds
        it taken and gets None). An event with `once_key` (a card click: one per person per card)
        claims that too, and gives it back when the answer is refused (someone else's approval
        card): the card keeps its buttons for the person who may decide. A claim that cannot be
        made (database down) raises, so the platform retries."""
        event = turn.event
        platform = self.platforms.get(event.platform)
        if platform is not None and not platform.dedupe:
            return nxt()
        keys = [event.message_id] + ([event.once_key] if event.once_key else [])
        for key in keys:
            with self.app.db.transaction() as session:
                if not claim(session=session, platform=event.platform, key=key, now=event.received_at):
                    return None
        reply = nxt()
        if reply is not None and reply.refused and event.once_key:
            with self.app.db.transaction() as session:
                release(session=session, platform=event.platform, key=event.once_key)
        return reply

    def errors(self, turn: Turn, nxt) -> Reply:
        try:
            return nxt()
        except Exception:
            log.exception("message %s from %s:%s failed", turn.event.message_id, turn.event.platform,
                          turn.event.user_id)
            return Reply(self.app.messages.t("internal_error", turn.lang, ref=turn.correlation_id))

    def database(self, turn: Turn, nxt) -> Reply:
        with self.app.db.session() as session:
            turn.session = session
            try:
                reply = nxt()
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
