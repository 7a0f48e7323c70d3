"""help and unknown. Help shows each role what that role can ask (crm_core.staff.Role); a request
the bot cannot carry out (an order, a transfer, a password, a text message) is told so, with what
it can do, and stays `unknown`."""
from __future__ import annotations

from crm_core.staff import Role
from intents.context import HandlerContext
from intents.lexicon import lexicon, normalise
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

# The messages.yaml text per role; `help` (a manager's) for the others (manager, admin).
HELP_BY_ROLE = {Role.supervisor: "help_supervisor", Role.risk: "help_risk", Role.compliance: "help_compliance"}


@handler("help")
def help_(ctx: HandlerContext, intent: Intent) -> Reply:
    return Reply(ctx.t(HELP_BY_ROLE.get(ctx.staff.role, "help")))


@handler("unknown")
def unknown(ctx: HandlerContext, intent: Intent) -> Reply:
    if lexicon().cues["cannot_do"].search(normalise(ctx.said)):
        return Reply(ctx.t("cannot_do"))
    return Reply(ctx.t("unknown_intent"))
