"""The conversation around one message: numbered choices, confirmations before uncertain
writes, "他" meaning the last client, then the permission-checked handler call.

State (per person and platform, kept by the caller between messages):
  pending        a numbered choice waiting for "1"/"第二个": intent, slots, client_ids
  confirm        a write waiting for 确认/取消: intent, slots, confidence, client_id
  last_client_id the client of the last answer ("他的持仓呢")
  ask            a handler's question ("几倍？"): intent, slots, client_id, lang, and the slot the
                 next message fills when it is not a request of its own
  exchange       while one of the three above waits: the messages so far ({id, text}, in order),
                 so that the write they lead to records all of them, not the final "2" or 确认
"""
from __future__ import annotations

import re
from typing import Callable

from crm_core import audit
from crm_core.base import Source
from crm_core.clients import Client
from crm_core.crypto import mask_phone
from crm_core.visibility import READ_ONLY, can_see
from intents.catalog import catalog
from intents.context import HandlerContext
from intents.resolve import picked_number, resolve_client
from intents.types import Intent
from messaging.replies import Choice, Reply

YES = re.compile(r"^\s*(?:确认|确定|是的?|好的?|对的?|没问题|可以|保存|ok|okay|yes|y|confirm|sure)\s*[!！。.]*\s*$", re.I)
# 撤销/撤回 while a write waits for 确认 drops that write (the person means the one just shown),
# rather than undoing the write saved before it.
NO = re.compile(r"^\s*(?:取消|不对|不用了?|不要|算了|不|否|撤销|撤回|no|n|cancel|undo)\s*[!！。.]*\s*$", re.I)
CONFIDENT = 0.8
WAITING = ("pending", "confirm", "ask")
EXCHANGE_MAX = 8  # messages kept of one exchange: the request and the latest answers
MESSAGE_IDS_MAX = 128  # Provenance.source_message_id; the audit entry keeps every id
# Intents that take a client slot only sometimes: resolved when a client was named.
OPTIONAL_CLIENT = {"create_reminder", "list_approvals", "request_approval"}


def _restore(saved: dict, source: str, client_id: int | None) -> Intent:
    return Intent(saved["intent"], dict(saved["slots"]), saved.get("confidence", 1.0), source,
                  client_id=client_id)


def _summary(ctx: HandlerContext, intent: Intent) -> str:
    parts = []
    for name in catalog()[intent.name].slots:
        value = intent.slots.get(name)
        if value in (None, ""):
            continue
        if name == "client" and ctx.client is not None:
            value = ctx.client.name
        elif name in ("channel", "approval_type", "decision"):
            value = ctx.t(f"{name}_{value}")
        elif name == "phone":
            value = mask_phone(str(value))
        parts.append(f"{ctx.t('slot_' + name)} {value}")
    sep = "；" if ctx.lang == "zh" else "; "
    return ctx.t(f"intent_{intent.name}") + ("：" if ctx.lang == "zh" else ": ") + sep.join(parts)


def _cite(ctx: HandlerContext, exchange: list[dict]) -> None:
    """The write this message completes records the whole exchange: the texts one per line, the
    message ids comma-separated (the first and the latest when they do not all fit the column)."""
    ids = [str(m["id"]) for m in exchange if m.get("id")]
    joined = ",".join(ids)
    while len(joined) > MESSAGE_IDS_MAX and len(ids) > 2:
        ids = ids[:1] + ids[2:]
        joined = ",".join(ids[:1] + ["…"] + ids[1:])
    ctx.source = Source(platform=ctx.source.platform, message_id=joined[:MESSAGE_IDS_MAX] or None,
                        user=ctx.source.user, text="\n".join(m["text"] for m in exchange))
    ctx.request_text = exchange[0]["text"]


def _keep(ctx: HandlerContext, exchange: list[dict], reply: Reply) -> Reply:
    """While a question waits for its answer, remember the messages that led to it."""
    if any(key in ctx.state for key in WAITING):
        ctx.state["exchange"] = exchange[:1] + exchange[1:][-(EXCHANGE_MAX - 1):]
    return reply


class Dialog:
    def __init__(self, handlers: dict[str, Callable], recognize: Callable[[str], Intent]):
        self.handlers = handlers
        self.recognize = recognize

    def resume(self, ctx: HandlerContext, text: str) -> Intent | Reply | None:
        """An answer to the previous question, if this message is one."""
        pending = ctx.state.pop("pending", None)
        if pending is not None:
            number = picked_number(text)
            if number is not None:
                ids = pending["client_ids"]
                if not 1 <= number <= len(ids):
                    ctx.state["pending"] = pending
                    return Reply(ctx.t("choice_out_of_range", count=len(ids)))
                return _restore(pending, "context", ids[number - 1])
        confirm = ctx.state.pop("confirm", None)
        if confirm is not None:
            if YES.match(text):
                intent = _restore(confirm, "confirmed", confirm.get("client_id"))
                intent.confidence = 1.0
                return intent
            if NO.match(text):
                return Reply(ctx.t("confirm_cancelled"))
        return None

    def respond(self, ctx: HandlerContext, text: str) -> tuple[Intent | None, Reply]:
        intent, reply = self._respond(ctx, text)
        if ctx.chat_type == "group":  # in a group, only what the catalog lets through is posted
            spec = catalog().get(intent.name) if intent is not None else None
            if spec is None or spec.in_group == "dm":
                reply.private = True
        return intent, reply

    def _respond(self, ctx: HandlerContext, text: str) -> tuple[Intent | None, Reply]:
        exchange = (ctx.state.pop("exchange", None) or []) + [{"id": ctx.source.message_id, "text": text}]
        asked = ctx.state.pop("ask", None)
        resumed = self.resume(ctx, text)
        if isinstance(resumed, Reply):
            return None, _keep(ctx, exchange, resumed)
        intent = resumed or self.recognize(text)
        # After a question (a reason, a missing detail) the message is its answer unless it is
        # read confidently as a request of its own: a reading the model only guessed is an answer.
        if asked is not None and resumed is None and (intent.name == "unknown" or intent.confidence < CONFIDENT):
            if NO.match(text):
                return None, Reply(ctx.t("confirm_cancelled"))
            intent = resumed = _restore(asked, "context", asked.get("client_id"))
            intent.slots[asked["slot"]], intent.confidence = text.strip(), 1.0
            ctx.lang = ctx.state["lang"] = asked.get("lang", ctx.lang)  # "sc" answers a Chinese question
        if resumed is None:
            exchange = exchange[-1:]  # a request of its own starts a new exchange
        elif len(exchange) > 1:
            _cite(ctx, exchange)
        intent, reply = self.answer(ctx, intent)
        return intent, _keep(ctx, exchange, reply)

    def answer(self, ctx: HandlerContext, intent: Intent) -> tuple[Intent, Reply]:
        spec = catalog().get(intent.name)
        if spec is None:
            intent = Intent("unknown")
            spec = catalog()["unknown"]
        if spec.in_group == "refuse" and ctx.chat_type == "group":
            return intent, Reply(ctx.t("direct_chat_only"))
        wants_client = spec.needs_client or (intent.name in OPTIONAL_CLIENT and intent.slots.get("client"))
        if wants_client:
            picked = ctx.session.get(Client, intent.client_id) if intent.client_id is not None else None
            if picked is not None and can_see(session=ctx.session, staff=ctx.staff, client=picked):
                ctx.client = picked
            else:
                resolved = resolve_client(ctx, intent)
                if isinstance(resolved, Reply):
                    return intent, resolved
                ctx.client = resolved
            ctx.state["last_client_id"] = ctx.client.id
            if spec.write and ctx.staff.role in READ_ONLY:
                audit.record(session=ctx.session, actor=ctx.staff.login, action="access.read_only",
                             entity="client", entity_id=ctx.client.id, details={"intent": intent.name},
                             source=ctx.source)
                return intent, Reply(ctx.t("read_only_role"))
        complete = all(intent.slots.get(name) for name, slot in spec.slots.items() if slot.required)
        unsure = intent.confidence < CONFIDENT or (spec.confirm and intent.source != "confirmed")
        if spec.write and complete and unsure and intent.name in self.handlers:
            # A handler's `preview` shows the write as it would be saved, or answers instead
            # (a question for what is missing, a refusal) with nothing to confirm.
            preview = getattr(self.handlers[intent.name], "preview", None)
            summary = preview(ctx, intent) if preview else _summary(ctx, intent)
            if isinstance(summary, Reply):
                return intent, summary
            ctx.state["confirm"] = {"intent": intent.name, "slots": intent.slots, "confidence": intent.confidence,
                                    "client_id": ctx.client.id if ctx.client else None}
            # Buttons send words that YES and NO accept, as if the person had typed them.
            yes, no = ("确认", "取消") if ctx.lang == "zh" else ("yes", "cancel")
            return intent, Reply(ctx.t("confirm_prompt", summary=summary),
                                 choices=[Choice(ctx.t("confirm_yes"), yes), Choice(ctx.t("confirm_no"), no)])
        return intent, self.handlers[intent.name](ctx, intent)
