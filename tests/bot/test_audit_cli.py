"""`brokerbot audit verify` finds an entry altered behind the database's back."""
from sqlalchemy import text

from crm_core import audit


def test_verify_reports_the_first_altered_entry(app, session, cli):
    for i in range(4):
        audit.record(session=session, actor="m1", action="client.update", entity="client", entity_id=i)
    session.commit()
    ok = cli("audit", "verify")
    assert ok.returncode == 0 and "4 entries" in ok.stdout
    # Someone with database rights disables the guard and edits entry 3.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
    session.execute(text("UPDATE audit_log SET actor = 'm2' WHERE id = 3"))
    session.commit()
    bad = cli("audit", "verify")
    assert bad.returncode == 1
    assert "entry 3" in bad.stderr and "altered" in bad.stderr
    assert "Traceback" not in bad.stderr
