"""request_approval, decide_approval and list_approvals: approvals asked for and decided in the
chat thread (crm_core.approvals), the approvers and the requester told through ctx.notify.

A request that lacks its figure (the fee multiple, the product, the new manager, the margin
ratio) asks for it and keeps the partial request in the conversation (the dialog's `ask`), so the
answer "1.2倍" completes it. A product permission is checked for suitability before it goes out.
A rejection without its reason ("驳回 #12", or the card's reject button) asks for it the same way.
A decision turned away (not the approver, the requester, nobody to route to) is a refused Reply:
the card it was clicked on stays for the approver.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.approvals import (
    ApprovalError,
    ApprovalStatus,
    ApprovalType,
    Decision,
    create_request,
    decide,
    decisions,
    delegate,
    for_client,
    load_for_update,
    requested_by,
    waiting_for,
)
from crm_core.staff import Staff
from crm_core.suitability import check_product
from crm_core.visibility import can_see
from intents import approval_details as read
from intents import format as fmt
from intents.approval_cards import requester_notice, tell_step, type_label, what
from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Choice, Reply

SHOWN = 10


# -- requesting ------------------------------------------------------------------------------

def _ask(ctx: HandlerContext, intent: Intent, said: str, key: str, **values) -> Reply:
    ctx.state["ask"] = {"intent": intent.name, "slots": {**intent.slots, "details": said, "answer": None},
                        "client_id": ctx.client.id, "lang": ctx.lang, "slot": "answer"}
    return Reply(ctx.t(key, client=ctx.client.name, **values))


def _figure(ctx: HandlerContext, intent: Intent, kind: ApprovalType, said: str, details: dict) -> Reply | None:
    """Fill `details` with the request's figure from what was said; a question or a refusal if it cannot."""
    client = ctx.client
    if kind == ApprovalType.commission_discount:
        multiple = read.fee_multiple(said)
        if multiple is None:
            return _ask(ctx, intent, said, "approval_ask_fee_multiple")
        if multiple < 1:
            return _ask(ctx, intent, said, "approval_fee_below_exchange", multiple=multiple)
        details["fee_multiple"] = str(multiple)
    elif kind == ApprovalType.margin_adjustment:
        ratio = read.margin_ratio(said)
        if ratio is None:
            return _ask(ctx, intent, said, "approval_ask_margin_ratio")
        if not 0 < ratio < 1:
            return _ask(ctx, intent, said, "approval_margin_ratio_invalid")
        details["margin_ratio"] = str(ratio)
    elif kind == ApprovalType.client_transfer:
        named = read.named_staff(session=ctx.session, text=said)
        others = [p for p in named if p.id != client.manager_id]
        if not others:
            if named:
                return Reply(ctx.t("approval_manager_same", client=client.name, manager=named[0].name))
            return _ask(ctx, intent, said, "approval_ask_new_manager")
        if len(others) > 1:
            return _ask(ctx, intent, said, "approval_manager_ambiguous", names="、".join(p.name for p in others))
        details.update(new_manager_id=others[0].id, new_manager=others[0].name, old_manager_id=client.manager_id)
    elif kind == ApprovalType.product_permission:
        asked = read.product(said, ctx.suitability)
        if asked is None:
            return _ask(ctx, intent, said, "approval_ask_product")
        check = check_product(session=ctx.session, client=client, product=asked, now=ctx.now, rules=ctx.suitability)
        if not check.allowed:
            audit.record(session=ctx.session, actor=ctx.staff.login, action="approval.request_blocked",
                         entity="client", entity_id=client.id, source=ctx.source,
                         details={"type": kind.value, "product": asked, "reason": check.reason,
                                  "client_level": check.client_level, "product_level": check.product_level})
            return Reply(ctx.t(check.reason, **check.params))
        details.update(product=asked, category=check.category, product_level=check.product_level,
                       client_level=check.client_level, suitability=check.reason,
                       warning_id=check.warning_id, warning_signed=check.params.get("signed"))
    return None


@handler("request_approval")
def request_approval(ctx: HandlerContext, intent: Intent) -> Reply:
    if ctx.client is None:
        return Reply(ctx.t("approval_needs_client"))
    kind = ApprovalType(intent.slots.get("approval_type") or "other")
    said = " ".join(str(intent.slots[k]) for k in ("details", "answer") if intent.slots.get(k))
    # The latest answer first, so "1.2倍" after a refused "0.9倍" is the figure; "张三" is not one.
    text = " ".join(str(intent.slots[k]) for k in ("answer", "details") if intent.slots.get(k))
    mention = str(intent.slots.get("client") or "")
    text = text.replace(mention, " ") if mention else text
    details: dict = {"text": said, "lang": ctx.lang}
    stop = _figure(ctx, intent, kind, text, details)
    if stop is not None:
        return stop
    try:
        request = create_request(session=ctx.session, requester=ctx.staff, client=ctx.client, approval_type=kind,
                                 details=details, flows=ctx.approval_flows, now=ctx.now, source=ctx.source)
    except ApprovalError as exc:
        return Reply(ctx.t(exc.key, **exc.params))
    tell_step(session=ctx.session, texts=ctx.texts, tz=ctx.tz, flows=ctx.approval_flows, now=ctx.now,
              request=request, notify=ctx.notify)
    lines = [ctx.t("approval_created", id=request.id, client=ctx.client.name,
                   type=type_label(ctx.texts, ctx.lang, request), what=what(ctx.texts, ctx.lang, request),
                   approver=request.approver.name, steps=len(request.route))]
    if details.get("suitability"):
        lines.append(ctx.t(details["suitability"], client=ctx.client.name, product=details["product"],
                           client_level=details["client_level"], product_level=details["product_level"],
                           signed=details.get("warning_signed") or ""))
    return Reply("\n".join(lines))


# -- deciding --------------------------------------------------------------------------------

def _entitled(ctx: HandlerContext, request) -> bool:
    """May this person learn about the request (its state, who decides it)?"""
    staff = ctx.staff
    stand_in = delegate(session=ctx.session, request=request, flows=ctx.approval_flows, now=ctx.now, tz=ctx.tz)
    if staff.id in (request.requester_id, request.approver_id, request.escalated_to_id) or \
            (stand_in is not None and stand_in.id == staff.id):
        return True
    if any(d.decider_id == staff.id for d in decisions(session=ctx.session, request_id=request.id)):
        return True
    return request.client is not None and can_see(session=ctx.session, staff=staff, client=request.client)


def _already(ctx: HandlerContext, request, decision) -> Reply:
    if decision is None:
        return Reply(ctx.t("approval_closed", id=request.id, status=ctx.t(f"approval_status_{request.status.value}")))
    return Reply(ctx.t("approval_already", id=request.id, who=decision.decider.name,
                       when=fmt.when(decision.decided_at, ctx.tz),
                       decision=ctx.t(f"decision_{decision.decision.value}"), state=_state(ctx, request)))


@handler("decide_approval")
def decide_approval(ctx: HandlerContext, intent: Intent) -> Reply:
    raw_id, raw_decision = intent.slots.get("approval_id"), intent.slots.get("decision")
    if raw_id is None or not str(raw_id).isdigit() or raw_decision not in ("approve", "reject"):
        return Reply(ctx.t("decide_needs_id"))
    request = load_for_update(session=ctx.session, request_id=int(raw_id))
    if request is None:
        return Reply(ctx.t("approval_not_found", id=raw_id), refused=True)
    comment = str(intent.slots.get("comment") or "").strip() or None
    entitled = _entitled(ctx, request)
    try:
        outcome = decide(session=ctx.session, request=request, staff=ctx.staff, decision=Decision(raw_decision),
                         comment=comment, flows=ctx.approval_flows, now=ctx.now, tz=ctx.tz, source=ctx.source,
                         entitled=entitled)
    except ApprovalError as exc:  # the next step has nobody to go to: nothing was decided
        return Reply(ctx.t(exc.key, **exc.params), refused=True)
    kind = outcome.kind
    if kind == "already":
        return _already(ctx, request, outcome.decision)
    if kind == "self":
        return Reply(ctx.t("approval_self", id=request.id), refused=True)
    if kind == "not_approver":
        if not entitled:  # another team's request is not confirmed to exist
            return Reply(ctx.t("approval_not_found", id=request.id), refused=True)
        return Reply(ctx.t("approval_not_your_step", id=request.id, state=_state(ctx, request)), refused=True)
    if kind == "needs_reason":  # the next message is the reason ("取消" drops the rejection)
        ctx.state["ask"] = {"intent": intent.name, "slots": {**intent.slots, "comment": None}, "client_id": None,
                            "lang": ctx.lang, "slot": "comment"}
        return Reply(ctx.t("approval_ask_reject_reason", id=request.id))
    notice = requester_notice(texts=ctx.texts, request=request, kind=kind, decider=ctx.staff,
                              comment=outcome.decision.comment)  # as stored: personal numbers masked
    ctx.notify(request.requester, notice, purpose="approval",
               ref=f"approval:{request.id}:s{outcome.decision.step}:decided")
    values = dict(id=request.id, client=request.client.name, type=type_label(ctx.texts, ctx.lang, request),
                  what=what(ctx.texts, ctx.lang, request), approver=request.approver.name)
    if kind == "advanced":
        tell_step(session=ctx.session, texts=ctx.texts, tz=ctx.tz, flows=ctx.approval_flows, now=ctx.now,
                  request=request, notify=ctx.notify)
    return Reply(ctx.t(f"approval_decided_{kind}", **values))


# -- lists -----------------------------------------------------------------------------------

def _state(ctx: HandlerContext, request) -> str:
    status = request.status
    if status == ApprovalStatus.pending:
        return ctx.t("approvals_state_pending", approver=request.approver.name if request.approver else "-",
                     step=request.step + 1, steps=len(request.route))
    if status == ApprovalStatus.rejected:
        by = ctx.session.get(Staff, request.decided_by_id) if request.decided_by_id else None
        return ctx.t("approvals_state_rejected", who=by.name if by else "-",
                     comment=request.comment or ctx.t("approval_no_reason"))
    when = fmt.when(request.decided_at, ctx.tz) if request.decided_at else "-"
    return ctx.t(f"approvals_state_{status.value}", when=when)


def _line(ctx: HandlerContext, key: str, request) -> str:
    return ctx.t(key, id=request.id, type=type_label(ctx.texts, ctx.lang, request),
                 client=request.client.name if request.client else "-", what=what(ctx.texts, ctx.lang, request),
                 requester=request.requester.name, state=_state(ctx, request))


@handler("list_approvals")
def list_approvals(ctx: HandlerContext, intent: Intent) -> Reply:
    session: Session = ctx.session
    if ctx.client is not None:
        rows = for_client(session=session, client=ctx.client, limit=SHOWN)
        if not rows:
            return Reply(ctx.t("approvals_client_none", client=ctx.client.name))
        return Reply("\n".join([ctx.t("approvals_client_head", client=ctx.client.name)]
                               + [_line(ctx, "approvals_mine_line", r) for r in rows]), private=True)
    waiting = waiting_for(session=session, staff=ctx.staff, flows=ctx.approval_flows, now=ctx.now, tz=ctx.tz)
    mine = requested_by(session=session, staff=ctx.staff, limit=SHOWN)
    if not waiting and not mine:
        return Reply(ctx.t("approvals_none"))
    lines = []
    if waiting:
        lines.append(ctx.t("approvals_waiting_head", count=len(waiting)))
        lines += [_line(ctx, "approvals_waiting_line", r) for r in waiting[:SHOWN]]
        if len(waiting) > SHOWN:
            lines.append(ctx.t("alerts_more", more=len(waiting) - SHOWN))
        lines.append(ctx.t("approvals_hint"))
    if mine:
        lines.append(ctx.t("approvals_mine_head"))
        lines += [_line(ctx, "approvals_mine_line", r) for r in mine]
    choices = []
    if len(waiting) == 1:  # one to decide: its buttons
        choices = [Choice(ctx.t("approval_button_approve"), f"同意 #{waiting[0].id}"),
                   Choice(ctx.t("approval_button_reject"), f"驳回 #{waiting[0].id}")]
    return Reply("\n".join(lines), private=True, choices=choices)
