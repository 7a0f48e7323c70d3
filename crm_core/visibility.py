"""Who may see which clients: a manager their own, a supervisor their team's, risk,
compliance and admin everyone's. Every query for clients on behalf of a person goes
through `visible_clients`; every single-client answer through `can_see`."""
from __future__ import annotations

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from crm_core.clients import Client
from crm_core.staff import Role, Staff

SEES_ALL = {Role.risk, Role.compliance, Role.admin}
# Compliance sees every client but does not act on them (no contacts logged, no requests made);
# it decides approvals routed to it and reads everything else.
READ_ONLY = {Role.compliance}


def visible_clients(staff: Staff) -> ColumnElement[bool]:
    """A WHERE clause on Client selecting what `staff` may see."""
    if staff.role in SEES_ALL:
        return true()
    if staff.role == Role.supervisor and staff.team_id is not None:
        team_members = select(Staff.id).where(Staff.team_id == staff.team_id).scalar_subquery()
        return Client.manager_id.in_(team_members)
    return Client.manager_id == staff.id


def can_see(*, session: Session, staff: Staff, client: Client) -> bool:
    if staff.role in SEES_ALL:
        return True
    if client.manager_id == staff.id:
        return True
    if staff.role == Role.supervisor and staff.team_id is not None and client.manager is not None:
        return client.manager.team_id == staff.team_id
    return False


def can_manage(*, staff: Staff, client: Client) -> bool:
    """Who may change a client's own data (tags, phone, birthday): its manager and the manager's
    supervisor. Risk and admin see every client but do not manage them; compliance reads only."""
    if client.manager_id is not None and client.manager_id == staff.id:
        return True
    return (staff.role == Role.supervisor and staff.team_id is not None and client.manager is not None
            and client.manager.team_id == staff.team_id)
def may_see_staff(*, asker: Staff, subject: Staff) -> bool:
    """May `asker` see `subject`'s figures and client lists? Themselves; a supervisor the members
    of their team; risk, compliance and admin everyone. A manager never another manager."""
    if asker.id == subject.id or asker.role in SEES_ALL:
        return True
    return asker.role == Role.supervisor and asker.team_id is not None and subject.team_id == asker.team_id
