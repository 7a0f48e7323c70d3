"""Undo a person's last write made through chat (undo_last): an interaction, a reminder, a lead or
a change to a client's data, within a day of writing it.

"My last write" is read from the audit log, which records every write with its author and the
message it came from: the newest of the author's chat writes there that no `*.undone` entry names.
Undoing never edits the log; it appends `<entity>.undone` naming the original entry. The rows:
an interaction (and the follow-up reminder it created) is deleted, as a record of a contact that
did not happen; a reminder is kept as cancelled; a lead is deleted unless something refers to it
by now; a client change is reversed when nothing changed the value since."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.audit import AuditEntry
from crm_core.base import Source
from crm_core.client_changes import update_client
from crm_core.clients import Client, Lifecycle
from crm_core.db import cipher_of
from crm_core.interactions import Interaction
from crm_core.reminders import Reminder, ReminderStatus
from crm_core.staff import Staff
from crm_core.visibility import can_manage

WINDOW = timedelta(hours=24)
NOT_CHAT = {"import", "demo", "system", "api"}  # Source.platform values that are not a chat
UNDOABLE = {"interaction.create": Interaction, "reminder.create": Reminder, "lead.create": Client,
            "client.update": Client}
# Chat writes that undo_last does not reverse (they have their own ways: an approval is decided by
# someone else, an assessment is corrected by a new one): when one is the newest, it says so.
FINAL = ("approval.request", "approval.approve", "approval.reject", "suitability.assess", "alert.acknowledge")
LOOK_BACK = 200  # entries of one person within the window looked at


class UndoError(Exception):
    """The write cannot be undone; `key` names the sentence that says why (config/messages.yaml)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Write:
    entry: AuditEntry  # the audit entry of the write
    row: object | None  # the Interaction, Reminder or Client it wrote; None for a FINAL write
    followup: Reminder | None = None  # an interaction's follow-up reminder, written with it

    @property
    def undoable(self) -> bool:
        return self.entry.action in UNDOABLE


def _from_chat(entry: AuditEntry) -> bool:
    source = (entry.details or {}).get("source") or {}
    return bool(source.get("platform")) and source["platform"] not in NOT_CHAT


def writes(*, session: Session, actor: Staff, now: datetime):
    """The actor's chat writes of the last 24 hours not undone yet, newest first."""
    entries = list(session.scalars(
        select(AuditEntry).where(AuditEntry.actor == actor.login, AuditEntry.at >= now - WINDOW,
                                 or_(AuditEntry.action.in_([*UNDOABLE, *FINAL]), AuditEntry.action.like("%.undone")))
        .order_by(AuditEntry.id.desc()).limit(LOOK_BACK)))
    undone = {(e.details or {}).get("undoes") for e in entries if e.action.endswith(".undone")}
    for entry in entries:
        if entry.action.endswith(".undone") or entry.id in undone or not _from_chat(entry):
            continue
        if entry.action in FINAL:
            yield Write(entry, None)
            continue
        row = session.get(UNDOABLE[entry.action], int(entry.entity_id))
        if row is None:
            continue  # gone already
        if entry.action == "reminder.create" and row.interaction_id is not None:
            continue  # an interaction's follow-up: undone with its interaction
        if entry.action == "lead.create" and row.lifecycle != Lifecycle.lead:
            continue  # became a client since: not "a lead I just registered" any more
        followup = None
        if entry.action == "interaction.create":
            followup = session.scalar(select(Reminder).where(Reminder.interaction_id == row.id).limit(1))
        yield Write(entry, row, followup)


def last_write(*, session: Session, actor: Staff, now: datetime) -> Write | None:
    return next(writes(session=session, actor=actor, now=now), None)


def write_of(*, session: Session, actor: Staff, now: datetime, entry_id: int) -> Write | None:
    """The write of that audit entry, if it is still the actor's and can still be undone."""
    return next((w for w in writes(session=session, actor=actor, now=now) if w.entry.id == entry_id), None)


def _entry_of(session: Session, action: str, entity_id: int) -> AuditEntry | None:
    return session.scalar(select(AuditEntry).where(AuditEntry.action == action,
                                                   AuditEntry.entity_id == str(entity_id))
                          .order_by(AuditEntry.id.desc()).limit(1))


def _record(session: Session, actor: Staff, original: AuditEntry, source: Source | None, **details) -> None:
    audit.record(session=session, actor=actor.login, action=original.action.split(".")[0] + ".undone",
                 entity=original.entity, entity_id=original.entity_id, source=source,
                 details={"undoes": original.id, "action": original.action, **details})


def undo(*, session: Session, actor: Staff, write: Write, source: Source | None = None) -> None:
    """Reverse the write and audit it; UndoError when it cannot be."""
    entry, row = write.entry, write.row
    if not write.undoable:
        raise UndoError("undo_not_possible")
    if entry.action == "interaction.create":
        if write.followup is not None:
            created = _entry_of(session, "reminder.create", write.followup.id)
            if created is not None:
                _record(session, actor, created, source)
            session.delete(write.followup)
            session.flush()  # before the interaction it refers to
        session.delete(row)
        session.flush()
        _record(session, actor, entry, source, client_id=row.client_id)
    elif entry.action == "reminder.create":
        row.status = ReminderStatus.cancelled
        row.set_source(source)
        session.flush()
        _record(session, actor, entry, source)
    elif entry.action == "lead.create":
        if row.accounts or not can_manage(staff=actor, client=row):
            raise UndoError("undo_lead_in_use")
        try:
            with session.begin_nested():
                session.delete(row)
                session.flush()
        except IntegrityError:  # an interaction, reminder or request refers to it by now
            raise UndoError("undo_lead_in_use") from None
        _record(session, actor, entry, source, name=entry.details.get("name"))
    else:
        _revert_change(session, actor, write, source)


def _revert_change(session: Session, actor: Staff, write: Write, source: Source | None) -> None:
    entry, client = write.entry, write.row
    if not can_manage(staff=actor, client=client):
        raise UndoError("undo_not_allowed")
    details = entry.details or {}
    field = details.get("field")
    extra = {"undoes": entry.id, "action": entry.action}
    action = "client.undone"
    if field in ("add_tag", "remove_tag"):
        tag = details.get("tag")
        if (tag in client.tags) != (field == "add_tag"):
            raise UndoError("undo_changed_since")
        update_client(session=session, actor=actor, client=client, field="remove_tag" if field == "add_tag" else "add_tag",
                      value=tag, source=source, action=action, extra=extra)
    elif field == "phone":
        cipher = cipher_of(session)
        after = cipher.decrypt(details.get("after_sealed"))
        if cipher.decrypt(client.phone_enc) != after:
            raise UndoError("undo_changed_since")
        update_client(session=session, actor=actor, client=client, field="phone",
                      value=cipher.decrypt(details.get("before_sealed")), source=source, action=action, extra=extra)
    elif field == "birthday":
        after = details.get("after")
        if (client.birthday.isoformat() if client.birthday else None) != after:
            raise UndoError("undo_changed_since")
        before = details.get("before")
        update_client(session=session, actor=actor, client=client, field="birthday",
                      value=date.fromisoformat(before) if before else None, source=source, action=action,
                      extra=extra)
    else:
        raise UndoError("undo_not_possible")
