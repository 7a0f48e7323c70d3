"""help and unknown."""
from __future__ import annotations

from intents.context import HandlerContext
from intents.handlers import handler
from intents.replies import Reply
from intents.types import Intent


@handler("help")
def help_(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t("help"))


@handler("unknown")
def unknown(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t("unknown_intent"))
