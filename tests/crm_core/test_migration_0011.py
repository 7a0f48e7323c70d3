"""Migration 0011 masks the phone and ID numbers earlier versions left in provenance texts and
audit details, re-chains the audit log so that it still verifies, and says what it redacted."""
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import select

from crm_core import audit
from crm_core.clients import Client
from crm_core.conversations import Conversation
from crm_core.db import Database
from crm_core.migrations import audit_v1
from crm_core.interactions import Channel, Interaction
from crm_core.staff import Role
from tests import factories as f
from tests.conftest import TEST_KEY
from tests.crm_core.test_personal_data import raw_database

PHONE, ID_NUMBER = "13800001111", "110101199003074514"
AT = datetime(2026, 11, 18, 1, 30, tzinfo=timezone.utc)


def _old_entry(session, action: str, details: dict) -> None:
    """An entry as brokerbot wrote it before 0011: the details as given, chained."""
    last = session.scalar(select(audit_v1.audit_log.c.hash).order_by(audit_v1.audit_log.c.id.desc()).limit(1))
    entry = dict(at=AT, actor="m1", action=action, entity="client", entity_id="1", details=details,
                 prev_hash=last or audit.GENESIS)
    entry["hash"] = audit_v1.digest(entry)
    session.execute(audit_v1.audit_log.insert().values(**entry))


class _App:  # what raw_database needs
    def __init__(self, db):
        self.db = db


def test_upgrade_masks_old_rows_and_the_audit_chain_still_verifies(db_url):
    db = Database(db_url, secret_key=TEST_KEY)
    command.upgrade(db._alembic_config(), "0008")
    with db.transaction() as session:
        m1 = f.staff(session, "m1", "王芳", Role.manager)
        lead = Client(name="王大锤", manager_id=m1.id, source_platform="wecom", source_message_id="msg:1",
                      source_text=f"新客户王大锤，电话{PHONE}，对原油期权感兴趣")
        session.add(lead)
        session.flush()
        session.add(Interaction(client_id=lead.id, staff_id=m1.id, channel=Channel.phone, occurred_at=AT,
                                summary="电话", source_text=f"给王大锤打电话，身份证{ID_NUMBER}"))
        session.add(Conversation(staff_id=m1.id, platform="wecom", updated_at=AT,
                                 state={"confirm": {"intent": "create_lead", "slots": {"phone": PHONE}}}))
        _old_entry(session, "demo.seed", {"clients": 1})
        _old_entry(session, "lead.create", {"name": "王大锤", "source": {"message_id": "7437826475027484123",
                                                                      "text": f"电话{PHONE}"}})
        _old_entry(session, "import.clients", {"file": "clients.csv", "rows": [ID_NUMBER]})
        _old_entry(session, "reminder.create", {"due_at": "2026-11-19T10:00:00+08:00"})
    with db.session() as session:
        first_hashes = list(session.scalars(select(audit_v1.audit_log.c.hash).order_by(audit_v1.audit_log.c.id)))

    db.upgrade()
    with db.session() as session:
        assert session.scalar(select(Client.source_text)) == "新客户王大锤，电话138****1111，对原油期权感兴趣"
        assert session.scalar(select(Interaction.source_text)) == "给王大锤打电话，身份证110***********4514"
        assert session.scalar(select(Conversation.state)) == {}
        entries = session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all()
        assert entries[0].hash == first_hashes[0]  # before the first changed entry nothing moved
        assert entries[1].details["source"] == {"message_id": "7437826475027484123", "text": "电话138****1111"}
        assert entries[2].details["rows"] == ["110***********4514"]
        assert entries[-1].action == "audit.redact" and entries[-1].details["audit_entries"] == 2
        assert entries[-1].details["provenance_rows"] == {"clients": 1, "interactions": 1}
        assert audit.verify(session=session) == (5, None)
    db.engine.dispose()
    raw = raw_database(_App(db))
    assert PHONE not in raw and ID_NUMBER not in raw
    db.dispose()


def test_upgrade_of_a_clean_database_adds_no_entry(db_url):
    db = Database(db_url, secret_key=TEST_KEY)
    command.upgrade(db._alembic_config(), "0008")
    with db.transaction() as session:
        _old_entry(session, "demo.seed", {"clients": 1})
    db.upgrade()
    with db.session() as session:
        assert [e.action for e in session.scalars(select(audit.AuditEntry))] == ["demo.seed"]
        assert audit.verify(session=session) == (1, None)
    db.dispose()
