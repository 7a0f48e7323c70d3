"""update_client: a tag added or removed, the phone number or the birthday changed; always shown
and saved only after 确认, by the client's manager or their supervisor. The phone is stored as
client phones are (encrypted, with a blind index) and shown masked."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from crm_core import audit
from crm_core.client_changes import FIELDS, TAG_MAX, update_client
from crm_core.crypto import mask_phone
from crm_core.visibility import can_manage
from intents.context import HandlerContext
from intents.handlers.leads import PHONE
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

BIRTHDAY = re.compile(r"^(\d{4}|-)-(\d{2})-(\d{2})$")  # YYYY-MM-DD, or --MM-DD when no year was said
TAG_TRIM = " \t「」『』“”\"'‘’【】[]的"


@dataclass(frozen=True)
class Change:
    field: str
    value: str | date | None  # as stored: the tag, the phone digits, the birthday
    shown: str  # as shown: the phone masked
    before: str


def _birthday(ctx: HandlerContext, value: str) -> date | Reply:
    c = ctx.client
    m = BIRTHDAY.match(value)
    if not m:
        return Reply(ctx.t("client_birthday_bad", client=c.name))
    year = int(m.group(1)) if m.group(1) != "-" else (c.birthday.year if c.birthday else None)
    if year is None:  # "5月6号" and no year on file: the day alone cannot be stored
        return Reply(ctx.t("client_birthday_needs_year", client=c.name))
    try:
        day = date(year, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return Reply(ctx.t("client_birthday_bad", client=c.name))
    if day > ctx.now.date() or day.year < 1900:
        return Reply(ctx.t("client_birthday_bad", client=c.name))
    return day


def _read(ctx: HandlerContext, intent: Intent) -> Change | Reply:
    c = ctx.client
    if not can_manage(staff=ctx.staff, client=c):
        # Only someone who sees the client anyway gets here (risk, admin): another team's client
        # was answered as unknown when it was resolved.
        audit.record(session=ctx.session, actor=ctx.staff.login, action="client.update_refused", entity="client",
                     entity_id=c.id, details={"role": ctx.staff.role.value}, source=ctx.source)
        return Reply(ctx.t("client_update_not_allowed", client=c.name))
    field = str(intent.slots.get("field") or "")
    value = str(intent.slots.get("value") or "").strip()
    if field not in FIELDS or not value:
        return Reply(ctx.t("client_update_what", client=c.name))
    none = ctx.t("client_value_none")
    if field in ("add_tag", "remove_tag"):
        tag = value.strip(TAG_TRIM)
        if not tag or len(tag) > TAG_MAX:
            return Reply(ctx.t("client_update_what", client=c.name))
        if field == "add_tag" and tag in c.tags:
            return Reply(ctx.t("client_tag_exists", client=c.name, tag=tag))
        if field == "remove_tag" and tag not in c.tags:
            sep = "、" if ctx.lang == "zh" else ", "
            return Reply(ctx.t("client_tag_missing", client=c.name, tag=tag, tags=sep.join(c.tags) or none))
        return Change(field, tag, tag, "")
    if field == "phone":
        phone = re.sub(r"[\s-]", "", value)
        if not PHONE.match(phone):
            return Reply(ctx.t("client_phone_bad", client=c.name, phone=mask_phone(phone)))
        current = ctx.cipher.decrypt(c.phone_enc)
        if current == phone:
            return Reply(ctx.t("client_phone_same", client=c.name, phone=mask_phone(phone)))
        return Change(field, phone, mask_phone(phone), mask_phone(current) or none)
    day = _birthday(ctx, value)
    if isinstance(day, Reply):
        return day
    if day == c.birthday:
        return Reply(ctx.t("client_birthday_same", client=c.name, birthday=day.isoformat()))
    return Change(field, day, day.isoformat(), c.birthday.isoformat() if c.birthday else none)


def describe(ctx: HandlerContext, client_name: str, field: str, shown: str, before: str) -> str:
    return ctx.t(f"client_change_{field}", client=client_name, value=shown, before=before)


def preview(ctx: HandlerContext, intent: Intent) -> str | Reply:
    change = _read(ctx, intent)
    if isinstance(change, Reply):
        return change
    return describe(ctx, ctx.client.name, change.field, change.shown, change.before)


@handler("update_client")
def update(ctx: HandlerContext, intent: Intent) -> Reply:
    change = _read(ctx, intent)
    if isinstance(change, Reply):
        return change
    update_client(session=ctx.session, actor=ctx.staff, client=ctx.client, field=change.field, value=change.value,
                  source=ctx.source)
    return Reply(ctx.t("client_updated", what=describe(ctx, ctx.client.name, change.field, change.shown,
                                                       change.before)))


update.preview = preview
