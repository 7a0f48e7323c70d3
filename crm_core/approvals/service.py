"""Approval requests (maker-checker): created by a requester, routed step by step through the
approvers of approval_flows.yaml (crm_core.approvals.flows), decided once per step, and applied
when the last step approves (crm_core.approvals.outcomes).

The rules a regulator and an auditor expect: the requester never decides their own request,
even when a flow routes it to them; only the routed approver of the current step, their active
delegate, or the person the step escalated to decides; one person decides at most one step of a
request (four eyes per step); every decision, refusal and outcome goes to the audit log; a step is
decided once (a unique row per request and step), so repeated clicks and retried callbacks decide
nothing and are answered with who decided and when.

Services return what happened; telling people about it is the caller's (bot/, intents/).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.base import Source
from crm_core.clients import Client
from crm_core.masking import masked, masked_deep
from crm_core.staff import Role, Staff, get_staff



from crm_core.approvals.flows import ApprovalFlows
from crm_core.approvals.models import (ApprovalDecision, ApprovalError, ApprovalRequest, ApprovalStatus,
                                      ApprovalType, Decision)
from crm_core.approvals.outcomes import apply_outcome


# -- routing ---------------------------------------------------------------------------------

def _usable(staff: Staff | None, requester: Staff) -> Staff | None:
    return staff if staff is not None and staff.active and staff.id != requester.id else None


def _by_role(session: Session, role: str, requester: Staff) -> Staff | None:
    """An active holder of the role other than the requester; one of the requester's team first."""
    rows = session.scalars(select(Staff).where(Staff.role == Role(role), Staff.active.is_(True),
                                               Staff.id != requester.id).order_by(Staff.id)).all()
    same_team = [s for s in rows if requester.team_id is not None and s.team_id == requester.team_id]
    return (same_team or rows or [None])[0]


def step_label(spec: dict) -> str:
    return spec.get("login") or spec.get("role") or "?"


def route_step(*, session: Session, spec: dict, requester: Staff, flows: ApprovalFlows) -> Staff:
    """The person a step of the route goes to. A step that would land on the requester (their own
    login, or the only holder of a role) goes to their supervisor, else to the fallback."""
    if spec.get("login"):
        found = get_staff(session=session, login=spec["login"])
    elif spec.get("role") == "supervisor":
        found = requester.supervisor
    else:
        found = _by_role(session, spec["role"], requester)
    approver = _usable(found, requester)
    if approver is None and found is not None and found.id == requester.id:
        approver = _usable(requester.supervisor, requester)
    if approver is None and flows.escalation_fallback:
        approver = _usable(get_staff(session=session, login=flows.escalation_fallback), requester)
    if approver is None:
        raise ApprovalError("approval_no_approver", step=step_label(spec))
    return approver


def escalation_target(*, session: Session, request: ApprovalRequest, flows: ApprovalFlows) -> Staff | None:
    """The approver's supervisor, else the file's escalation_fallback; never the requester or the
    approver themselves."""
    approver = request.approver
    candidates = [approver.supervisor if approver is not None else None]
    if flows.escalation_fallback:
        candidates.append(get_staff(session=session, login=flows.escalation_fallback))
    for person in candidates:
        if person is not None and person.active and person.id not in (request.requester_id, request.approver_id):
            return person
    return None


def delegate(*, session: Session, request: ApprovalRequest, flows: ApprovalFlows, now: datetime,
             tz: ZoneInfo) -> Staff | None:
    """The current approver's active delegate, if they are away."""
    if request.approver is None:
        return None
    login = flows.delegate_of(request.approver.login, now, tz)
    person = get_staff(session=session, login=login) if login else None
    return person if person is not None and person.active else None


# -- requesting ------------------------------------------------------------------------------

def create_request(*, session: Session, requester: Staff, client: Client, approval_type: ApprovalType,
                   details: dict, flows: ApprovalFlows, now: datetime,
                   source: Source | None = None) -> ApprovalRequest:
    details = masked_deep(details)  # the request's words are kept and shown with personal numbers masked
    route = flows.route(approval_type, details)
    # Every step must have someone to go to now; later steps are routed again when they start.
    approver, *_ = [route_step(session=session, spec=spec, requester=requester, flows=flows) for spec in route]
    request = ApprovalRequest(approval_type=approval_type, client_id=client.id,
                              requester_id=requester.id, approver_id=approver.id, status=ApprovalStatus.pending,
                              step=0, details=details, route=route, step_started_at=now)
    request.set_source(source)
    session.add(request)
    session.flush()
    session.refresh(request)
    audit.record(session=session, actor=requester.login, action="approval.request", entity="approval",
                 entity_id=request.id, source=source,
                 details={"type": approval_type.value, "client_id": request.client_id, "details": details,
                          "route": [step_label(s) for s in route], "approver": approver.login})
    return request


# -- deciding --------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What a decision attempt did. kind: already | self | not_approver | needs_reason | advanced |
    approved | rejected (needs_reason: a rejection without its reason, nothing written). `decision` is the decision written, or for `already` the one that was taken."""

    kind: str
    request: ApprovalRequest
    decision: ApprovalDecision | None = None
    applied: dict | None = None


def may_decide(*, session: Session, request: ApprovalRequest, staff: Staff, flows: ApprovalFlows,
               now: datetime, tz: ZoneInfo) -> tuple[bool, int | None]:
    """(may decide the current step, on whose behalf). The requester never may."""
    if staff.id == request.requester_id:
        return False, None
    if staff.id == request.approver_id:
        return True, None
    standing_in = delegate(session=session, request=request, flows=flows, now=now, tz=tz)
    if standing_in is not None and standing_in.id == staff.id:
        return True, request.approver_id
    if request.escalated_to_id == staff.id:
        return True, request.approver_id
    return False, None


def decisions(*, session: Session, request_id: int) -> list[ApprovalDecision]:
    return list(session.scalars(select(ApprovalDecision).where(ApprovalDecision.request_id == request_id)
                                .order_by(ApprovalDecision.step)))


def _refused(session: Session, request: ApprovalRequest, staff: Staff, reason: str, decision: Decision,
             source: Source | None) -> None:
    audit.record(session=session, actor=staff.login, action="approval.decide_refused", entity="approval",
                 entity_id=request.id, source=source,
                 details={"reason": reason, "decision": decision.value, "step": request.step,
                          "approver_id": request.approver_id})


def decide(*, session: Session, request: ApprovalRequest, staff: Staff, decision: Decision, comment: str | None,
           flows: ApprovalFlows, now: datetime, tz: ZoneInfo, source: Source | None = None,
           entitled: bool = True) -> Outcome:
    """Decide the current step of `request` (loaded with `load_for_update`). `entitled`: whether
    this person may learn how the request stands (involved in it, or able to see its client);
    others are refused, and audited, whatever state the request is in."""
    taken = decisions(session=session, request_id=request.id)
    mine = [d for d in taken if d.decider_id == staff.id]
    if (request.status != ApprovalStatus.pending or mine) and not entitled:
        _refused(session, request, staff, "not_the_approver", decision, source)
        return Outcome("not_approver", request)
    if request.status != ApprovalStatus.pending:
        return Outcome("already", request, taken[-1] if taken else None)
    if mine:
        return Outcome("already", request, mine[-1])
    if staff.id == request.requester_id:
        _refused(session, request, staff, "self_approval", decision, source)
        return Outcome("self", request)
    allowed, on_behalf = may_decide(session=session, request=request, staff=staff, flows=flows, now=now, tz=tz)
    if not allowed:
        _refused(session, request, staff, "not_the_approver", decision, source)
        return Outcome("not_approver", request)
    if decision == Decision.reject and not (comment or "").strip():  # the requester is owed the reason
        return Outcome("needs_reason", request)
    comment = masked(comment)  # kept, and passed on, with personal numbers masked
    nxt = None
    if decision == Decision.approve and not request.last_step:  # routed before anything is written
        nxt = route_step(session=session, spec=request.route[request.step + 1], requester=request.requester,
                         flows=flows)
    row = ApprovalDecision(request_id=request.id, step=request.step, decider_id=staff.id, on_behalf_of_id=on_behalf,
                           decision=decision, comment=comment, decided_at=now)
    row.set_source(source)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another replica decided this step a moment ago
        session.expire(request)
        taken = decisions(session=session, request_id=request.id)
        return Outcome("already", request, taken[-1] if taken else None)
    audit.record(session=session, actor=staff.login, action=f"approval.{decision.value}", entity="approval",
                 entity_id=request.id, source=source,
                 details={"step": request.step, "comment": comment, "on_behalf_of_id": on_behalf,
                          "decision_id": row.id})
    if decision == Decision.reject:
        _close(request, ApprovalStatus.rejected, staff, now, comment)
        return Outcome("rejected", request, row)
    if nxt is not None:
        request.step, request.approver_id, request.step_started_at = request.step + 1, nxt.id, now
        request.reminded_at = request.escalated_at = request.escalated_to_id = None
        session.flush()
        session.refresh(request)
        return Outcome("advanced", request, row)
    _close(request, ApprovalStatus.approved, staff, now, comment)
    applied = apply_outcome(session=session, request=request, actor=staff, now=now, source=source)
    return Outcome("approved", request, row, applied)


def _close(request: ApprovalRequest, status: ApprovalStatus, staff: Staff, now: datetime,
           comment: str | None) -> None:
    request.status, request.decided_at, request.decided_by_id = status, now, staff.id
    request.comment = comment


def load_for_update(*, session: Session, request_id: int) -> ApprovalRequest | None:
    """The request, locked until the end of the transaction (PostgreSQL; SQLite writes one at a time)."""
    return session.scalar(select(ApprovalRequest).where(ApprovalRequest.id == request_id)
                          .with_for_update(of=ApprovalRequest).execution_options(populate_existing=True))


# -- lists -----------------------------------------------------------------------------------

def waiting_for(*, session: Session, staff: Staff, flows: ApprovalFlows, now: datetime,
                tz: ZoneInfo) -> list[ApprovalRequest]:
    """Pending requests `staff` may decide now: routed to them, escalated to them, or to someone
    they stand in for. Their own requests are never among them."""
    standing_for = flows.delegating_to(staff.login, now, tz)
    stand_in_ids = select(Staff.id).where(Staff.login.in_(standing_for)) if standing_for else None
    mine = [ApprovalRequest.approver_id == staff.id, ApprovalRequest.escalated_to_id == staff.id]
    if stand_in_ids is not None:
        mine.append(ApprovalRequest.approver_id.in_(stand_in_ids))
    return list(session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.status == ApprovalStatus.pending, ApprovalRequest.requester_id != staff.id, or_(*mine))
        .order_by(ApprovalRequest.id)))


def requested_by(*, session: Session, staff: Staff, limit: int) -> list[ApprovalRequest]:
    return list(session.scalars(select(ApprovalRequest).where(ApprovalRequest.requester_id == staff.id)
                                .order_by(ApprovalRequest.id.desc()).limit(limit)))


def for_client(*, session: Session, client: Client, limit: int) -> list[ApprovalRequest]:
    return list(session.scalars(select(ApprovalRequest).where(ApprovalRequest.client_id == client.id)
                                .order_by(ApprovalRequest.id.desc()).limit(limit)))


# -- SLA -------------------------------------------------------------------------------------

@dataclass
class Overdue:
    kind: str  # remind | escalate
    request: ApprovalRequest
    to: list[Staff]


def overdue(*, session: Session, flows: ApprovalFlows, now: datetime, tz: ZoneInfo) -> list[Overdue]:
    """Pending steps past their reminder or escalation time that were not reminded or escalated
    yet; each is marked (and audited) here, so it is reminded once and escalated once."""
    stmt = (select(ApprovalRequest).where(
        ApprovalRequest.status == ApprovalStatus.pending, ApprovalRequest.step_started_at.is_not(None),
        or_(ApprovalRequest.reminded_at.is_(None), ApprovalRequest.escalated_at.is_(None)))
        .order_by(ApprovalRequest.id).with_for_update(skip_locked=True, of=ApprovalRequest))
    due = []
    for request in session.scalars(stmt).all():
        spec = request.route[request.step]
        waited = now - request.step_started_at
        if request.reminded_at is None and waited >= timedelta(minutes=spec["remind_after"]):
            request.reminded_at = now
            stand_in = delegate(session=session, request=request, flows=flows, now=now, tz=tz)
            to = [p for p in (request.approver, stand_in) if p is not None]
            audit.record(session=session, actor="system", action="approval.remind", entity="approval",
                         entity_id=request.id, details={"step": request.step, "to": [p.login for p in to]})
            due.append(Overdue("remind", request, to))
        if request.escalated_at is None and waited >= timedelta(minutes=spec["escalate_after"]):
            target = escalation_target(session=session, request=request, flows=flows)
            request.escalated_at, request.escalated_to_id = now, target.id if target else None
            audit.record(session=session, actor="system", action="approval.escalate", entity="approval",
                         entity_id=request.id,
                         details={"step": request.step, "to": target.login if target else None})
            due.append(Overdue("escalate", request, [target] if target else []))
    session.flush()
    return due


# The outcome tables belong with the requests that set them (and with the schema whenever the
# requests are imported); imported last because they refer to ApprovalRequest.
