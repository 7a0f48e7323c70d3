"""`brokerbot audit verify` finds an entry altered, removed or rewritten behind the database's
back, the newest entries deleted (signed checkpoints) and a rewrite by someone holding the key
(`--anchor` from a copy kept elsewhere); the database refuses to empty the log."""
import hashlib
import hmac
import threading

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bot.service import Service
from crm_core import audit, tokens
from crm_core.staff import Role
from tests import factories as f
from tests.running import running


def _entries(session, n: int) -> None:
    for i in range(n):
        audit.record(session=session, actor="m1", action="client.update", entity="client", entity_id=i)
    session.commit()


def _unguard(session) -> None:
    """Someone with database rights disables the append-only guards."""
    if session.get_bind().dialect.name == "postgresql":
        for table in ("audit_log", "audit_checkpoints"):
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for trigger in ("audit_log_no_update", "audit_log_no_delete",
                        "audit_checkpoints_no_update", "audit_checkpoints_no_delete"):
            session.execute(text(f"DROP TRIGGER {trigger}"))


def _rewrite(session, from_id: int, actor: str, rehash) -> None:
    """Edit entry `from_id` and recompute every hash after it with `rehash(entry) -> (version, hash)`."""
    entries = session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all()
    prev = audit.GENESIS
    for entry in entries:
        if entry.id == from_id:
            entry.actor = actor
        if entry.id >= from_id:
            entry.prev_hash = prev
            entry.hash_version, entry.hash = rehash(entry)
        prev = entry.hash
    session.commit()


def _verify(cli, *args):
    result = cli("audit", "verify", *args)
    assert "Traceback" not in result.stderr
    return result


def test_verify_reports_the_first_altered_entry(app, session, cli):
    _entries(session, 4)
    ok = _verify(cli)
    assert ok.returncode == 0 and "4 entries" in ok.stdout
    _unguard(session)
    session.execute(text("UPDATE audit_log SET actor = 'm2' WHERE id = 3"))
    session.commit()
    bad = _verify(cli)
    assert bad.returncode == 1
    assert "entry 3" in bad.stderr and "altered" in bad.stderr


def test_verify_reports_a_deleted_entry(app, session, cli):
    _entries(session, 4)
    _unguard(session)
    session.execute(text("DELETE FROM audit_log WHERE id = 2"))
    session.commit()
    bad = _verify(cli)
    assert bad.returncode == 1 and "entry 3" in bad.stderr and "removed" in bad.stderr


def test_deleting_the_newest_entries_is_found_by_the_signed_checkpoint(app, session, cli):
    _entries(session, 5)
    anchor = cli("audit", "checkpoint")
    assert anchor.returncode == 0
    seq, head = anchor.stdout.strip().split(":")
    assert seq == "5" and len(head) == 64
    _entries(session, 2)
    assert _verify(cli).returncode == 0
    _unguard(session)
    session.execute(text("DELETE FROM audit_log WHERE id >= 4"))
    session.commit()
    bad = _verify(cli)
    assert bad.returncode == 1
    assert "entry 5" in bad.stderr and "removed from the end" in bad.stderr


def test_an_edit_with_the_following_hashes_recomputed_without_the_key_is_found(app, session, cli):
    _entries(session, 6)
    _unguard(session)

    def plain(entry):  # the old unkeyed hash, which anyone can compute
        return 1, hashlib.sha256(audit._body(entry)).hexdigest()

    _rewrite(session, 3, "m2", plain)
    bad = _verify(cli)
    assert bad.returncode == 1 and "entry 3" in bad.stderr and "rewritten" in bad.stderr

    def guessed_key(entry):  # a keyed hash under a key that is not the database's
        return 2, hmac.new(b"k" * 32, b"brokerbot audit v2\n" + audit._body(entry), hashlib.sha256).hexdigest()

    _rewrite(session, 3, "m2", guessed_key)
    bad = _verify(cli)
    assert bad.returncode == 1 and "entry 3" in bad.stderr and "altered" in bad.stderr


def test_a_rewrite_by_someone_holding_the_key_is_found_by_the_anchor_kept_elsewhere(app, session, cli):
    _entries(session, 6)
    anchor = cli("audit", "checkpoint").stdout.strip()
    _unguard(session)
    key = app.db.cipher.audit_key
    _rewrite(session, 2, "m2", lambda entry: (2, audit._digest(entry, key)))
    bad = _verify(cli)  # the signed checkpoint in the database still names the old head
    assert bad.returncode == 1 and "entry 6" in bad.stderr and "rewritten" in bad.stderr
    session.execute(text("DELETE FROM audit_checkpoints"))  # ... so it goes too
    session.commit()
    assert _verify(cli).returncode == 0
    bad = _verify(cli, "--anchor", anchor)
    assert bad.returncode == 1 and "entry 6" in bad.stderr and "anchor" in bad.stderr
    mistyped = _verify(cli, "--anchor", "6:nothex")
    assert mistyped.returncode == 1 and "SEQ:HASH" in mistyped.stderr


def test_a_forged_checkpoint_is_found(app, session, cli):
    _entries(session, 3)
    session.execute(text("INSERT INTO audit_checkpoints (at, seq, head_hash, mac) "
                         "VALUES ('2026-11-18 01:30:00', 9, :h, :h)"), {"h": "a" * 64})
    session.commit()
    bad = _verify(cli)
    assert bad.returncode == 1 and "wrong signature" in bad.stderr


def test_the_database_refuses_to_empty_the_log(app, session, cli):
    _entries(session, 3)
    cli("audit", "checkpoint")
    postgres = session.get_bind().dialect.name == "postgresql"
    for table in ("audit_log", "audit_checkpoints"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(f"TRUNCATE {table}" if postgres else f"DELETE FROM {table}"))
        session.rollback()
    assert _verify(cli).returncode == 0


def test_twelve_clients_posting_the_same_snapshot_at_once_raise_no_false_alarm(app, session, cli):
    m1 = f.staff(session, "m1", "王芳", Role.manager)
    f.client(session, "张三", m1, ["90012345"])
    token = tokens.create_token(session=session, name="back-office")
    session.commit()
    row = {"account_no": "90012345", "timestamp": "2026-11-18T15:00:00+08:00", "trading_day": "20261118",
           "balance": "1500000.00", "curr_margin": "1350000", "exchange_margin": "1200000.00"}
    start, statuses = threading.Barrier(12), []
    with running(Service(app)) as base:
        def post():
            start.wait()
            for _ in range(3):
                statuses.append(httpx.post(f"{base}/api/v1/snapshots", json=[row], timeout=60,
                                           headers={"Authorization": f"Bearer {token}"}).status_code)

        threads = [threading.Thread(target=post) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(statuses) == 36 and set(statuses) <= {200, 409}
    ok = _verify(cli)
    assert ok.returncode == 0, ok.stderr
    entries = int(ok.stdout.split(":")[1].split()[0])
    assert entries >= 36  # every request is in the log
