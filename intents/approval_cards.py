"""What people are told about an approval request: the approver's card (the request, the client's
suitability level, equity and recent contacts, and Approve/Reject buttons whose values "同意 #ID"
and "驳回 #ID" come back as if typed, with the same words as a text fallback), reminders and
escalations of overdue steps, and the requester's notice of each decision.

Notices to other people are in the business language (zh); the requester's are in the language
they asked in.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.approvals import ApprovalRequest, ApprovalType, delegate
from crm_core.interactions import Interaction
from crm_core.margin import latest_snapshot
from crm_core.staff import Staff
from intents import format as fmt
from crm_core.masking import mask_personal
from messaging.replies import Choice, Reply

LANG = "zh"
RECENT = 2  # interactions shown on a card
SUMMARY_MAX = 24


def type_label(texts, lang: str, request: ApprovalRequest) -> str:
    return texts.t(f"approval_type_{request.approval_type.value}", lang)


def ratio_text(value: Decimal) -> str:
    """0.15 -> '15%', 0.125 -> '12.5%'."""
    return f"{(value * 100).normalize():f}%"


def what(texts, lang: str, request: ApprovalRequest) -> str:
    """The request in a few words: 手续费按交易所 1.2 倍, 开通 原油期货（R4）, 转给 刘洋 ..."""
    d, kind = request.details, request.approval_type
    if kind == ApprovalType.commission_discount:
        return texts.t("approval_what_commission", lang, multiple=d["fee_multiple"])
    if kind == ApprovalType.product_permission:
        return texts.t("approval_what_product", lang, product=d["product"], level=d["product_level"])
    if kind == ApprovalType.client_transfer:
        return texts.t("approval_what_transfer", lang, manager=d["new_manager"])
    if kind == ApprovalType.margin_adjustment:
        return texts.t("approval_what_margin", lang, ratio=ratio_text(Decimal(d["margin_ratio"])))
    if kind == ApprovalType.account_opening:
        return texts.t("approval_what_opening", lang)
    return texts.t("approval_what_other", lang, text=d.get("text", ""))


def _equity(session: Session, request: ApprovalRequest, texts, tz: ZoneInfo) -> str:
    snaps = [s for s in (latest_snapshot(session=session, account_id=a.id) for a in request.client.accounts) if s]
    if not snaps:
        return texts.t("approval_card_no_equity", LANG)
    total = sum((s.balance for s in snaps), Decimal(0))
    return texts.t("approval_card_equity", LANG, value=fmt.money(total),
                   time=fmt.when(min(s.timestamp for s in snaps), tz))


def _contacts(session: Session, request: ApprovalRequest, texts, tz: ZoneInfo) -> list[str]:
    rows = session.scalars(select(Interaction).where(Interaction.client_id == request.client_id)
                           .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(RECENT)).all()
    if not rows:
        return [texts.t("approval_card_no_interaction", LANG)]
    lines = []
    for row in rows:
        summary, _ = mask_personal(row.summary)  # free text may hold a phone number
        summary = summary if len(summary) <= SUMMARY_MAX else summary[:SUMMARY_MAX - 1] + "…"
        lines.append(texts.t("approval_card_interaction", LANG, when=row.occurred_at.astimezone(tz).date().isoformat(),
                             channel=texts.t(f"channel_{row.channel.value}", LANG), summary=summary))
    return lines


def card(*, session: Session, texts, tz: ZoneInfo, request: ApprovalRequest, kind: str = "new",
         now: datetime | None = None, for_whom: Staff | None = None) -> Reply:
    """The approver's card. kind: new | remind | escalate. `for_whom`: the approver a delegate or
    an escalation target decides for."""
    label = type_label(texts, LANG, request)
    approver = request.approver.name if request.approver else "-"
    waited = ""
    if now is not None and request.step_started_at is not None:
        minutes = max(0, int((now - request.step_started_at).total_seconds() // 60))
        waited = texts.t("duration_hours" if minutes >= 60 else "duration_minutes", LANG,
                         n=minutes // 60 if minutes >= 60 else minutes)
    title = texts.t(f"approval_card_title_{kind}", LANG, id=request.id, type=label, approver=approver, waited=waited)
    client = request.client
    level = client.risk_level or texts.t("approval_card_no_level", LANG)
    lines = [texts.t("approval_card_client", LANG, client=client.name, level=level),
             texts.t("approval_card_request", LANG, what=what(texts, LANG, request)),
             texts.t("approval_card_requester", LANG, requester=request.requester.name, step=request.step + 1,
                     steps=len(request.route))]
    if request.details.get("warning_signed"):
        lines.append(texts.t("approval_card_warning", LANG, client_level=request.details["client_level"],
                             signed=request.details["warning_signed"]))
    lines.append(_equity(session, request, texts, tz))
    lines += _contacts(session, request, texts, tz)
    if for_whom is not None:
        lines.append(texts.t("approval_card_for", LANG, approver=for_whom.name))
    lines.append(texts.t("approval_card_hint", LANG, id=request.id))
    return Reply("\n".join(lines), title=title, private=True, choices=[
        Choice(texts.t("approval_button_approve", LANG), f"同意 #{request.id}"),
        Choice(texts.t("approval_button_reject", LANG), f"驳回 #{request.id}")])


def tell_step(*, session: Session, texts, tz: ZoneInfo, flows, now: datetime, request: ApprovalRequest,
              notify) -> list[Staff]:
    """Send the current step's card to its approver and, while they are away, to their delegate."""
    told = []
    stand_in = delegate(session=session, request=request, flows=flows, now=now, tz=tz)
    for person, for_whom in ((request.approver, None), (stand_in, request.approver)):
        if person is None:
            continue
        reply = card(session=session, texts=texts, tz=tz, request=request, for_whom=for_whom)
        if notify(person, reply, purpose="approval", ref=f"approval:{request.id}:s{request.step}:new:{person.id}"):
            told.append(person)
    return told


def requester_notice(*, texts, request: ApprovalRequest, kind: str, decider: Staff, comment: str | None) -> Reply:
    """kind: advanced | approved | rejected."""
    lang = request.details.get("lang") or LANG
    values = dict(id=request.id, client=request.client.name, type=type_label(texts, lang, request),
                  what=what(texts, lang, request), who=decider.name,
                  approver=request.approver.name if request.approver else "-",
                  comment=comment or texts.t("approval_no_reason", lang))
    return Reply(texts.t(f"approval_notice_{kind}", lang, **values))
