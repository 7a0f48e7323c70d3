"""Migration 0013 masks the phone and ID numbers earlier versions stored as typed in free text
(visit notes, reminders, alert acknowledgements, approvals, leads), keeps a reminder's words
encrypted for its delivery, and says in the audit log what it masked."""
from datetime import datetime, timezone
from decimal import Decimal

from alembic import command
from sqlalchemy import column, insert, select, table

from crm_core import audit
from crm_core.risk.alerts import Alert, AlertAcknowledgement, AlertLevel
from crm_core.approvals import ApprovalDecision, ApprovalRequest, ApprovalType, Decision
from crm_core.clients import Client
from crm_core.db import Database
from crm_core.interactions import Channel, Interaction
from crm_core.reminders import Reminder
from crm_core.staff import Role
from crm_core.types import UTCDateTime
from tests import factories as f
from tests.conftest import TEST_KEY
from tests.crm_core.test_migration_0011 import _App
from tests.crm_core.test_personal_data import raw_database

PHONE, ID_NUMBER = "13800001111", "110101199003074514"
SAID = f"客户新号码{PHONE}，身份证{ID_NUMBER}"
SHOWN = "客户新号码138****1111，身份证110***********4514"
AT = datetime(2026, 11, 18, 1, 30, tzinfo=timezone.utc)


def test_upgrade_masks_free_text_keeps_the_reminder_words_sealed_and_says_so(db_url):
    db = Database(db_url, secret_key=TEST_KEY)
    command.upgrade(db._alembic_config(), "0012")
    with db.transaction() as session:
        m1 = f.staff(session, "m1", "王芳", Role.manager)
        sup = f.staff(session, "sup1", "周总监", Role.supervisor)
        zhang = f.client(session, "张三", m1, ["90012345"])
        session.add(Client(name="王大锤", manager_id=m1.id, interest=f"原油期权，电话{PHONE}"))
        session.add(Interaction(client_id=zhang.id, staff_id=m1.id, channel=Channel.visit, occurred_at=AT,
                                summary=SAID))
        alert = Alert(account_id=zhang.accounts[0].id, client_id=zhang.id, level=AlertLevel.margin_call,
                      risk_degree=Decimal("1.02"), opened_at=AT, level_at=AT, ack_comment=SAID)
        session.add(alert)
        session.flush()
        session.add(AlertAcknowledgement(alert_id=alert.id, staff_id=m1.id, acknowledged_at=AT, comment=SAID))
        request = ApprovalRequest(approval_type=ApprovalType.other, client_id=zhang.id, requester_id=m1.id,
                                  approver_id=sup.id, details={"text": SAID, "lang": "zh"}, route=[],
                                  comment=SAID)
        session.add(request)
        session.flush()
        session.add(ApprovalDecision(request_id=request.id, step=0, decider_id=sup.id, decision=Decision.reject,
                                     comment=SAID, decided_at=AT))
        # The reminders table as 0012 had it (no content_sealed yet).
        old = table("reminders", column("staff_id"), column("due_at", UTCDateTime()), column("date_only"),
                    column("content"), column("status"), column("created_at", UTCDateTime()),
                    column("updated_at", UTCDateTime()))
        session.execute(insert(old).values(staff_id=m1.id, due_at=AT, date_only=False, content=f"打{PHONE}给张三",
                                           status="pending", created_at=AT, updated_at=AT))
    db.upgrade()
    with db.session() as session:
        assert session.scalar(select(Interaction.summary)) == SHOWN
        assert session.scalar(select(Alert.ack_comment)) == SHOWN
        assert session.scalar(select(AlertAcknowledgement.comment)) == SHOWN
        request = session.scalar(select(ApprovalRequest))
        assert (request.details, request.comment) == ({"text": SHOWN, "lang": "zh"}, SHOWN)
        assert session.scalar(select(ApprovalDecision.comment)) == SHOWN
        assert session.scalar(select(Client.interest).where(Client.name == "王大锤")) == "原油期权，电话138****1111"
        reminder = session.scalar(select(Reminder))
        assert reminder.content == "打138****1111给张三"
        assert reminder.words(db.cipher) == f"打{PHONE}给张三"  # delivered to its writer as written
        entry = session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id.desc())).first()
        assert entry.action == "data.redact" and entry.details["rows"]["reminders.content"] == 1
        assert entry.details["rows"]["interactions.summary"] == 1
        assert audit.verify(session=session)[1] is None
    db.engine.dispose()
    raw = raw_database(_App(db))
    assert PHONE not in raw and ID_NUMBER not in raw
    db.dispose()
