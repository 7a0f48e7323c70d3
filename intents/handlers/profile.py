"""client_profile: the client's card. Personal data is masked."""
from __future__ import annotations

from crm_core import audit
from crm_core.interactions import last_interaction
from intents import format as fmt
from intents.context import HandlerContext
from crm_core.masking import mask_personal
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply


@handler("client_profile")
def client_profile(ctx: HandlerContext, intent: Intent) -> Reply:
    c = ctx.client
    lines = [ctx.t("profile_title", client=c.name),
             ctx.t("profile_type", value=ctx.t(f"client_type_{c.client_type.value}")),
             ctx.t("profile_lifecycle", value=ctx.t(f"lifecycle_{c.lifecycle.value}"))]
    if c.risk_level:
        lines.append(ctx.t("profile_level", value=c.risk_level))
    if c.tags:
        lines.append(ctx.t("profile_tags", value="、".join(c.tags) if ctx.lang == "zh" else ", ".join(c.tags)))
    if c.manager:
        lines.append(ctx.t("profile_manager", value=c.manager.name))
    if c.accounts:
        lines.append(ctx.t("profile_accounts", value="、".join(a.account_no for a in c.accounts)))
    if c.phone_enc:
        lines.append(ctx.t("profile_phone", value=c.masked_phone(ctx.cipher)))
    if c.id_number_enc:
        lines.append(ctx.t("profile_id_number", value=c.masked_id_number(ctx.cipher)))
    if c.birthday:
        lines.append(ctx.t("profile_birthday", value=c.birthday.isoformat()))
    last = last_interaction(session=ctx.session, client_id=c.id)
    if last is None:
        lines.append(ctx.t("profile_no_interaction"))
    else:
        moment = (last.occurred_at.astimezone(ctx.tz).date().isoformat() if last.date_only
                  else fmt.when(last.occurred_at, ctx.tz))
        lines.append(ctx.t("profile_last_interaction", when=moment,
                           channel=ctx.t(f"channel_{last.channel.value}"),
                           staff=last.staff.name, summary=mask_personal(last.summary)[0]))
    return Reply("\n".join(lines), private=True)


@handler("reveal_phone")
def reveal_phone(ctx: HandlerContext, intent: Intent) -> Reply:
    """The full number, to the client's own manager in a direct chat. Not to a supervisor, risk,
    compliance or an admin: they see the masked number, and it is the manager who calls the
    client; an admin runs the system, which gives no need to know a client's number."""
    c = ctx.client
    if ctx.chat_type != "direct":  # the dialog answers a group first (catalog: in_group refuse)
        return Reply(ctx.t("direct_chat_only"))
    if c.manager_id != ctx.staff.id:
        audit.record(session=ctx.session, actor=ctx.staff.login, action="client.phone_refused", entity="client",
                     entity_id=c.id, details={"role": ctx.staff.role.value}, source=ctx.source)
        return Reply(ctx.t("phone_full_not_yours", client=c.name))
    if not c.phone_enc:
        return Reply(ctx.t("phone_full_none", client=c.name))
    # Who, which client, when (the entry's time) and the message that asked; never the number.
    audit.record(session=ctx.session, actor=ctx.staff.login, action="client.phone_revealed", entity="client",
                 entity_id=c.id, details={"chat": ctx.chat_type}, source=ctx.source)
    return Reply(ctx.t("phone_full", client=c.name, phone=ctx.cipher.decrypt(c.phone_enc)), private=True,
                 sensitive=True)
