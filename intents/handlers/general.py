"""help, unknown, and the intents whose capability arrives with a later release."""
from __future__ import annotations

from intents.context import HandlerContext
from intents.handlers import handler
from intents.replies import Reply
from intents.types import Intent

PENDING = {  # intent -> what to call it while it is not built yet
    "request_approval": ("审批申请", "approval requests"),
    "decide_approval": ("审批", "approvals"),
    "list_approvals": ("审批查询", "approval lists"),
}


@handler("help")
def help_(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t("help"))


@handler("unknown")
def unknown(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t("unknown_intent"))


@handler(*PENDING)
def not_yet(ctx: HandlerContext, intent: Intent) -> Reply:
    zh, en = PENDING[intent.name]
    return Reply(ctx.t("not_yet_available", what=zh if ctx.lang == "zh" else en))
