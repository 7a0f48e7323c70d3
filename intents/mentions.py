"""Client mentions: one ClientIndex per database, kept in step with the CRM cheaply.

Per message, `index_for(session)` costs a dictionary look-up and a clock read. The database is
asked whether clients or accounts changed (a count and a max(updated_at)) at most every
`ClientIndex.TTL` seconds, and at once after this process commits a change to clients, accounts
or tags (a SQLAlchemy session hook) or after `invalidate_index(session)`. Changed rows are then
loaded alone (updated_at at or after the last one seen); a smaller count means deletions and
rebuilds the whole index.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from crm_core.accounts import Account
from crm_core.clients import Client, ClientTag, ClientType
from crm_core.staff import Staff
from crm_core.visibility import SEES_ALL, visible_clients
from intents.client_index import ClientIndex, Mention

TTL = 5.0  # seconds between two checks of the database for changes made by other processes


@dataclass
class _Sync:
    version: tuple | None = None
    checked_at: float = 0.0
    stale: bool = True
    client_mark: object = None  # the latest updated_at loaded
    account_mark: object = None


def _version(session: Session) -> tuple:
    clients = session.execute(select(func.count(Client.id), func.max(Client.updated_at))).one()
    accounts = session.execute(select(func.count(Account.id), func.max(Account.updated_at))).one()
    return (*clients, *accounts)


def _load(index: ClientIndex, session: Session, sync: _Sync) -> None:
    rows = select(Client.id, Client.name, Client.client_type, Client.updated_at)
    accounts = select(Account.account_no, Account.client_id, Account.updated_at)
    if sync.client_mark is not None:
        rows = rows.where(Client.updated_at >= sync.client_mark)
    if sync.account_mark is not None:
        accounts = accounts.where(Account.updated_at >= sync.account_mark)
    for cid, name, kind, updated in session.execute(rows):
        index.add(cid, name, kind == ClientType.institution)
        sync.client_mark = max(sync.client_mark or updated, updated)
    for no, cid, updated in session.execute(accounts):
        index.by_account[no] = cid
        sync.account_mark = max(sync.account_mark or updated, updated)
    index.tags = set(session.scalars(select(ClientTag.tag).distinct()))


def refresh(index: ClientIndex, session: Session) -> ClientIndex:
    sync = index.sync or _Sync()
    index.sync = sync
    now = time.monotonic()
    if not sync.stale and now - sync.checked_at < TTL:
        return index
    with index.lock:
        version = _version(session)
        sync.checked_at, sync.stale = now, False
        if version == sync.version:
            return index
        shrunk = sync.version is not None and (version[0] < sync.version[0] or version[2] < sync.version[2])
        if shrunk:
            fresh = ClientIndex()
            fresh.sync = _Sync()
            _load(fresh, session, fresh.sync)
            index.__dict__.update({k: v for k, v in fresh.__dict__.items() if k not in ("lock", "sync")})
            sync.client_mark, sync.account_mark = fresh.sync.client_mark, fresh.sync.account_mark
        else:
            _load(index, session, sync)
        sync.version = version
    return index


_INDEXES: dict[str, ClientIndex] = {}


def _url(session: Session) -> str:
    return str(session.get_bind().url)


def index_for(session: Session) -> ClientIndex:
    """The index of the session's database (one per database URL in this process)."""
    url = _url(session)
    index = _INDEXES.get(url)
    if index is None:
        index = _INDEXES.setdefault(url, ClientIndex())
    return refresh(index, session)


class SeenBy:
    """The index as one person sees it: the clients they may not see are not in it, so a message
    naming another team's client reads as one naming nobody, and no answer (an intent, a guess,
    a confidence) tells the two apart. A title (张总) keeps only the clients they may see, as a
    surname nobody has keeps none. Everything else is the shared index's."""

    def __init__(self, index: ClientIndex, allowed: set[int]):
        self.index, self.allowed = index, allowed

    def find(self, text: str, norm: str | None = None) -> list[Mention]:
        seen = []
        for m in self.index.find(text, norm):
            ids = [cid for cid in m.client_ids if cid in self.allowed]
            if m.client_ids and not ids and (m.kind != "title" or m.text.isascii()):
                continue  # another team's client: read as an unknown name
            seen.append(replace(m, client_ids=ids, by_account=m.by_account and bool(ids)))
        return seen

    def lookup(self, mention: str) -> list[int]:
        return [cid for cid in self.index.lookup(mention) if cid in self.allowed]

    def near(self, mention: str, allowed: set[int] | None = None) -> list[int]:
        return self.index.near(mention, self.allowed if allowed is None else allowed & self.allowed)

    def close_names(self, mention: str, allowed: set[int] | None, limit: int = 3) -> list[str]:
        return self.index.close_names(mention, self.allowed if allowed is None else allowed & self.allowed, limit)

    def __getattr__(self, name: str):
        return getattr(self.index, name)


def index_seen_by(session: Session, staff: Staff) -> ClientIndex | SeenBy:
    """index_for(session) limited to the clients `staff` may see (crm_core.visibility)."""
    index = index_for(session)
    if staff.role in SEES_ALL:
        return index
    return SeenBy(index, set(session.scalars(select(Client.id).where(visible_clients(staff)))))


def invalidate_index(session: Session) -> None:
    """Check the database for changed clients before the next message is read."""
    try:
        url = _url(session)
    except Exception:  # an unbound session: nothing indexed under it
        return
    index = _INDEXES.get(url)
    if index is not None:
        index.invalidate()


_WATCHED = (Client, Account, ClientTag)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context) -> None:
    if any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["brokerbot_clients_changed"] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and any(
            getattr(m, "class_", None) in _WATCHED for m in state.all_mappers):
        state.session.info["brokerbot_clients_changed"] = True


@event.listens_for(Session, "after_commit")
def _invalidate_after_commit(session: Session) -> None:
    if session.info.pop("brokerbot_clients_changed", False):
        invalidate_index(session)
