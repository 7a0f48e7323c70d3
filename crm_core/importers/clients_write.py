"""Writes checked client rows: new clients with their accounts and tags in batches; for
stored clients only what differs (personal data compared by blind index, so unchanged
phone and ID numbers are not re-encrypted)."""
from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from crm_core.accounts import Account
from crm_core.base import utcnow
from crm_core.clients import Client, ClientTag
from crm_core.importers.job import CHUNK, Job

COMPARED = ("name", "client_type", "risk_level", "birthday")


def _personal(job: Job, rec, stored=None) -> dict:
    """Encrypted columns for the phone and ID number the row gives, when they differ."""
    values = {}
    for plain, digest, enc_col, hash_col in ((rec.phone, rec.phone_hash, "phone_enc", "phone_hash"),
                                             (rec.id_number, rec.id_hash, "id_number_enc", "id_number_hash")):
        if plain is not None and (stored is None or getattr(stored, hash_col) != digest):
            values[enc_col], values[hash_col] = job.cipher.encrypt(plain), digest
    return values


def _new_client(job: Job, rec) -> dict:
    return {"name": rec.name, "client_type": rec.client_type or "individual",
            "risk_level": rec.risk_level, "birthday": rec.birthday, "manager_id": rec.manager_id,
            "phone_enc": None, "phone_hash": None, "id_number_enc": None, "id_number_hash": None,
            **_personal(job, rec), **job.source(rec.line)}


def _diff(job: Job, rec, stored) -> dict:
    diff = {f: getattr(rec, f) for f in COMPARED
            if getattr(rec, f) is not None and getattr(stored, f) != getattr(rec, f)}
    if rec.manager_given and stored.manager_id != rec.manager_id:
        diff["manager_id"] = rec.manager_id
    return diff | _personal(job, rec, stored)


def write(job: Job, plan) -> None:
    report, now = job.report, utcnow()
    new = [rec for rec in plan.recs if rec.client_id is None]
    fresh = {rec.line for rec in new}
    old = [rec for rec in plan.recs if rec.client_id is not None]
    made = job.insert("writing", Client, [_new_client(job, rec) for rec in new])
    for rec, client_id in zip(new, made):
        rec.client_id = client_id
    stored = {row.id: row for row in job.lookup(
        lambda chunk: select(Client.id, Client.manager_id, Client.phone_hash, Client.id_number_hash,
                             *(getattr(Client, f) for f in COMPARED)).where(Client.id.in_(chunk)),
        (rec.client_id for rec in old))}
    tags: dict[int, dict[str, int]] = {}
    for tag_id, client_id, tag in job.lookup(
            lambda chunk: select(ClientTag.id, ClientTag.client_id, ClientTag.tag)
            .where(ClientTag.client_id.in_(chunk)),
            (rec.client_id for rec in old if rec.tags is not None)):
        tags.setdefault(client_id, {})[tag] = tag_id
    updates, new_accounts, new_tags, gone_tags = [], [], [], []
    for rec in plan.recs:
        accounts = [{"account_no": no, "client_id": rec.client_id}
                    for no in rec.accounts if no not in plan.owners]
        have = tags.get(rec.client_id, {})
        added = [{"client_id": rec.client_id, "tag": t} for t in rec.tags or () if t not in have]
        removed = [tag_id for t, tag_id in have.items() if rec.tags is not None and t not in rec.tags]
        new_accounts += accounts
        new_tags += added
        gone_tags += removed
        if rec.line in fresh:
            continue
        diff = _diff(job, rec, stored[rec.client_id])
        if diff or accounts or added or removed:
            updates.append({"id": rec.client_id, **diff, "updated_at": now, **job.source(rec.line)})
    job.write("writing", update(Client), updates)
    job.write("writing", insert(Account), new_accounts)
    job.write("writing", insert(ClientTag), new_tags)
    for start in range(0, len(gone_tags), CHUNK):
        job.session.execute(delete(ClientTag).where(ClientTag.id.in_(gone_tags[start:start + CHUNK])))
    report.created, report.updated = len(new), len(updates)
    report.unchanged = len(old) - len(updates)
