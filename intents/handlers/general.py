"""help and unknown."""
from __future__ import annotations

from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply


@handler("help")
def help_(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t("help"))


@handler("unknown")
def unknown(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t("unknown_intent"))
