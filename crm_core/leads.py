"""Leads: prospective clients registered from chat before they have an account."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.base import Source
from crm_core.clients import Client, Lifecycle
from crm_core.db import cipher_of
from crm_core.masking import masked
from crm_core.staff import Staff
from crm_core.visibility import visible_clients


def find_duplicate_lead(*, session: Session, name: str, phone: str | None) -> Client | None:
    """A client with the same phone number, or a lead of the same name without a phone."""
    cipher = cipher_of(session)
    if phone:
        match = session.scalar(select(Client).where(Client.phone_hash == cipher.blind_index(phone)))
        if match is not None:
            return match
    return session.scalar(select(Client).where(Client.name == name, Client.lifecycle == Lifecycle.lead,
                                               Client.phone_hash.is_(None)).limit(1))


def create_lead(*, session: Session, actor: Staff, name: str, phone: str | None = None,
                interest: str | None = None, lead_source: str | None = None,
                source: Source | None = None) -> Client:
    client = Client(name=name, lifecycle=Lifecycle.lead, manager_id=actor.id, interest=masked(interest),
                    lead_source=masked(lead_source))  # free text: personal numbers masked
    client.set_phone(cipher_of(session), phone)
    client.set_source(source)
    session.add(client)
    session.flush()
    audit.record(session=session, actor=actor.login, action="lead.create", entity="client",
                 entity_id=client.id, details={"name": name}, source=source)
    return client


def leads_of(*, session: Session, staff: Staff, limit: int = 20) -> tuple[list[Client], int]:
    """The leads `staff` may see (a manager their own, a supervisor their team's), newest first,
    and how many there are."""
    where = (Client.lifecycle == Lifecycle.lead, visible_clients(staff))
    total = session.scalar(select(func.count(Client.id)).where(*where))
    rows = session.scalars(select(Client).where(*where).order_by(Client.created_at.desc(), Client.id.desc())
                           .limit(limit))
    return list(rows.unique()), total or 0
