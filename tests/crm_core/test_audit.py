"""The audit log is evidence: concurrent writers keep one chain, keyed hashes and signed
checkpoints catch edits, deletions and rewrites, and the database refuses to empty the table."""
from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import select

from crm_core import audit
from crm_core.db import Database
from crm_core.migrations import audit_v1
from tests.conftest import TEST_KEY


def test_twelve_concurrent_writers_leave_an_intact_chain(app):
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(5):
                with app.db.transaction() as session:
                    # A read before the audit entry, as the snapshot import does.
                    session.scalar(select(audit.AuditEntry.id).limit(1))
                    audit.record(session=session, actor=f"m{n}", action="snapshot.import",
                                 entity="account", entity_id=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.db.session() as session:
        count, broken = audit.verify(session=session)
    assert (count, broken) == (60, None)


def test_entries_from_before_keyed_hashes_still_verify_and_new_ones_are_keyed(db_url):
    db = Database(db_url, secret_key=TEST_KEY)
    command.upgrade(db._alembic_config(), "0013")
    with db.engine.begin() as conn:
        for n in range(3):
            audit_v1.append(conn, action="client.update", details={"n": n})
    db.upgrade()  # 0014: nothing re-keyed
    with db.transaction() as session:
        audit.record(session=session, actor="m1", action="client.update", entity="client", entity_id=1)
    with db.session() as session:
        assert list(session.scalars(select(audit.AuditEntry.hash_version).order_by(audit.AuditEntry.id))) == [1, 1, 1, 2]
        assert audit.verify(session=session) == (4, None)
    other = Database(db_url, secret_key="another-secret-key-0123456789")
    with other.session() as session:  # keyed entries do not verify under another key
        count, broken = audit.verify(session=session)
        assert broken is not None and broken.entry_id == 4
    other.dispose()
    db.dispose()
