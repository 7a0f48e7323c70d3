"""Clients file: name,account_no,phone,id_number,manager,risk_level,tags,birthday,client_type.

Which stored client a row describes: the owner of its account numbers (who must have the
row's ID number, or its name when it gives none: otherwise the account is someone else's);
else the client with its ID number; else, when exactly one exists, the client of that name
and manager (one without accounts, when the row brings new accounts); else a new client.
An empty cell leaves the stored value as it is; a `tags` cell of just `;` clears the tags.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, select

from crm_core.accounts import Account
from crm_core.clients import RISK_LEVELS, Client, ClientType
from crm_core.importers import clients_write, personal
from crm_core.importers.fields import Cells
from crm_core.importers.job import FirstSeen, Job
from crm_core.importers.texts import say
from crm_core.staff import Staff

COLUMNS = ("name", "account_no", "phone", "id_number", "manager", "risk_level", "tags",
           "birthday", "client_type")
REQUIRED = ("name",)
RISK = {level.lower(): level for level in RISK_LEVELS}
TYPES = {kind.value: kind.value for kind in ClientType}


@dataclass
class Rec:
    line: int
    name: str | None
    accounts: list[str]
    phone: str | None
    id_number: str | None
    manager_id: int | None
    manager_given: bool
    risk_level: str | None
    tags: list[str] | None
    birthday: date | None
    client_type: str | None
    phone_hash: str | None = None
    id_hash: str | None = None
    client_id: int | None = None  # the stored client this row describes, if any
    errors: list[str] = field(default_factory=list)


@dataclass
class Plan:
    recs: list[Rec]
    owners: dict[str, int]  # account_no -> client id, for the accounts named in the file


def _parse(job: Job, row, staff: dict[str, int]) -> Rec:
    c = Cells(row)
    manager = c.text("manager")
    rec = Rec(row.line, name=c.text("name", required=True, limit=128),
              accounts=c.split("account_no", limit=32) or [],
              phone=c.get("phone", personal.phone), id_number=c.get("id_number", personal.id_number),
              manager_id=staff.get(manager), manager_given=manager is not None,
              risk_level=c.choice("risk_level", RISK), tags=c.split("tags", limit=64),
              birthday=c.day("birthday"), client_type=c.choice("client_type", TYPES),
              errors=c.errors)
    if manager is not None and rec.manager_id is None:
        rec.errors.append(say("no_staff", column="manager", value=manager))
    rec.phone_hash = job.cipher.blind_index(rec.phone)
    rec.id_hash = job.cipher.blind_index(rec.id_number)
    return rec


def check(job: Job, rows) -> Plan:
    staff = {login: id_ for login, id_ in job.session.execute(select(Staff.login, Staff.id))}
    recs = [_parse(job, row, staff) for row in job.each("checking", rows)]
    accounts, id_numbers = FirstSeen("account_no"), FirstSeen("id_number")
    for rec in recs:
        rec.errors += [r for r in (accounts.check(a, rec.line) for a in rec.accounts) if r]
        if reason := id_numbers.check(rec.id_hash, rec.line, value=rec.id_number):
            rec.errors.append(reason)
    owners = {row.account_no: row for row in job.lookup(
        lambda chunk: select(Account.account_no, Account.client_id, Client.name, Client.id_number_hash)
        .join(Client, Client.id == Account.client_id).where(Account.account_no.in_(chunk)),
        (a for rec in recs for a in rec.accounts))}
    by_id = defaultdict(list)
    for cid, digest in job.lookup(
            lambda chunk: select(Client.id, Client.id_number_hash).where(Client.id_number_hash.in_(chunk)),
            (rec.id_hash for rec in recs)):
        by_id[digest].append(cid)
    for rec in recs:
        _match_by_keys(rec, owners, by_id)
    _match_by_name(job, [r for r in recs if r.client_id is None and not r.errors])
    first_row_of: dict[int, int] = {}
    for rec in recs:
        first = (first_row_of.setdefault(rec.client_id, rec.line)
                 if rec.client_id and not rec.errors else rec.line)
        if first != rec.line:
            rec.errors.append(say("same_client", client_id=rec.client_id, line=first))
        if rec.errors:
            job.bad(rec.line, rec.errors)
    return Plan([r for r in recs if not r.errors], {no: row.client_id for no, row in owners.items()})


def _match_by_keys(rec: Rec, owners: dict, by_id: dict) -> None:
    """A stored account names its client; the row must agree on who that is (same ID number,
    or same name when it gives none), else the account number is taken by someone else."""
    owned = [owners[a] for a in rec.accounts if a in owners]
    for first, second in zip(owned, owned[1:]):
        if first.client_id != second.client_id:
            rec.errors.append(say("accounts_split", first=first.account_no, second=second.account_no))
            return
    same_id = by_id.get(rec.id_hash, []) if rec.id_hash else []
    if owned:
        owner = owned[0]
        same_person = (owner.client_id in same_id if rec.id_hash and (same_id or owner.id_number_hash)
                       else owner.name == rec.name)
        if not same_person:
            rec.errors.append(say("account_taken", value=owner.account_no, name=owner.name,
                                  client_id=owner.client_id))
        else:
            rec.client_id = owner.client_id
    elif len(same_id) > 1:
        rec.errors.append(say("id_ambiguous", count=len(same_id), ids=", ".join(map(str, same_id))))
    elif same_id:
        rec.client_id = same_id[0]


def _match_by_name(job: Job, recs: list[Rec]) -> None:
    """Rows with no stored account and no stored ID number: match on name and manager."""
    seen = FirstSeen("name")
    for rec in recs:
        if not rec.accounts and not rec.id_hash:
            key = (rec.name, rec.manager_id)
            if reason := seen.check(key, rec.line, what=say("same_name", name=rec.name)):
                rec.errors.append(reason)
    has_account = exists().where(Account.client_id == Client.id)
    candidates = defaultdict(list)
    for row in job.lookup(lambda chunk: select(Client.id, Client.name, Client.manager_id,
                                               Client.id_number_hash, has_account.label("has_account"))
                          .where(Client.name.in_(chunk)), (rec.name for rec in recs)):
        candidates[(row.name, row.manager_id)].append(row)
    for rec in recs:
        found = [row.id for row in candidates.get((rec.name, rec.manager_id), [])
                 if not (rec.accounts and row.has_account)
                 and not (rec.id_hash and row.id_number_hash and row.id_number_hash != rec.id_hash)]
        if len(found) > 1:
            rec.errors.append(say("name_ambiguous", count=len(found), name=rec.name,
                                  ids=", ".join(map(str, found))))
        elif found:
            rec.client_id = found[0]


apply = clients_write.write
