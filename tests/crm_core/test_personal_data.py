"""Phone and ID numbers never reach the database, the audit log or the log file in the clear:
provenance and audit details hold them masked, the conversation state encrypted, the client
record encrypted (clients.phone_enc)."""
import json
import logging
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import inspect, select, text

from bot.logs import JsonFormatter
from crm_core import audit
from crm_core.clients import Client
from crm_core.importers import import_file
from tests.crm_core.test_risk import fakes, service  # noqa: F401  (fixtures)
from tests.testbot import TestBot

LEAD_PHONE = "13800001111"
CSV_PHONE, CSV_PHONE_NEW, CSV_ID = "13912340000", "13912349999", "110101199003074514"
SECRETS = (LEAD_PHONE, CSV_PHONE, CSV_PHONE_NEW, CSV_ID)


def raw_database(app) -> str:
    """Everything the database holds as text: the SQLite files' bytes (with the WAL), or every
    row of every table on PostgreSQL."""
    if app.db.engine.dialect.name == "sqlite":
        path = Path(app.db.engine.url.database)
        return "".join(p.read_bytes().decode("utf-8", "replace")
                       for p in sorted(path.parent.glob(path.name + "*")))
    names = inspect(app.db.engine).get_table_names()
    with app.db.engine.connect() as conn:
        return "\n".join(str(row[0]) for name in names
                         for row in conn.execute(text(f'SELECT t::text FROM "{name}" t')))


def write_clients(path: Path, phone: str) -> Path:
    path.write_text(f"name,account_no,phone,id_number,manager\n赵敏,90050001,{phone},{CSV_ID},m1\n",
                    encoding="utf-8")
    return path


def test_a_lead_a_client_update_and_an_import_leave_no_personal_number_in_the_clear(app, crm, tmp_path, testbot):
    for phone in (CSV_PHONE, CSV_PHONE_NEW):  # an import, then the same client's phone changed
        assert import_file(session=crm, kind="clients", path=write_clients(tmp_path / "clients.csv", phone),
                           source_user="tester").applied
        crm.commit()
    assert "请确认" in testbot.ask("m1", f"新客户王大锤，电话{LEAD_PHONE}，对原油期权感兴趣", message_id="m-1")
    pending = raw_database(app)  # the confirmation is pending: the phone waits in the conversation
    assert LEAD_PHONE not in pending
    assert "已登记线索" in testbot.ask("m1", "确认", message_id="m-2")
    app.db.engine.dispose()  # SQLite: let the WAL reach the file as well
    raw = raw_database(app)
    assert [s for s in SECRETS if s in raw] == []
    assert "138****1111" in raw  # the provenance keeps the words, masked
    crm.expire_all()
    lead = crm.scalar(select(Client).where(Client.name == "王大锤"))
    assert app.db.cipher.decrypt(lead.phone_enc) == LEAD_PHONE  # the lead's phone itself is kept, encrypted
    updated = crm.scalar(select(Client).where(Client.name == "赵敏"))
    assert app.db.cipher.decrypt(updated.phone_enc) == CSV_PHONE_NEW
    details = json.dumps([e.details for e in crm.scalars(select(audit.AuditEntry))], ensure_ascii=False)
    assert [s for s in SECRETS if s in details] == [] and "138****1111" in details
    assert audit.verify(session=crm)[1] is None


def test_audit_details_are_masked_at_any_depth_and_the_chain_holds(app, session):
    audit.record(session=session, actor="m1", action="test", details={
        "note": f"客户电话{LEAD_PHONE}", "rows": [{"id_number": CSV_ID}, "座机 010-62345678"],
        "amount": 1200, "account_no": "90012345"})
    session.commit()
    session.expire_all()
    entry = session.scalar(select(audit.AuditEntry))
    assert entry.details == {"note": "客户电话138****1111", "rows": [{"id_number": "110***********4514"},
                                                                   "座机 010-****5678"],
                             "amount": 1200, "account_no": "90012345"}
    assert audit.verify(session=session) == (1, None)


def test_the_log_file_masks_phone_and_id_numbers_in_messages_and_tracebacks():
    try:
        raise ValueError(f"bad row: {CSV_ID}")
    except ValueError:
        record = logging.LogRecord("brokerbot.test", logging.ERROR, __file__, 1, "lead %s", (LEAD_PHONE,),
                                   sys.exc_info())
    record.text = f"电话 {CSV_PHONE}"
    line = JsonFormatter().format(record)
    assert [s for s in SECRETS if s in line] == []
    assert "138****1111" in line and "110***********4514" in line and "139****0000" in line


def test_a_reply_echoing_a_phone_is_kept_masked_in_the_outbox_and_delivered_whole(app, tmp_path):
    from crm_core.outbox import OutboxMessage
    from messaging.replies import Reply
    from notifiers.outbox import Dispatcher, enqueue
    from notifiers.wecom import WeComClient
    from tests.fakes.wecom_server import FakeWeCom
    from tests.notifiers.test_outbox import T0

    said = f"已记录：2026-11-18 电话 张三，他换了新号码{LEAD_PHONE}"
    with FakeWeCom(users={"wangfang"}) as wecom:
        client = WeComClient(app.db, api_base=wecom.base_url, corp_id=wecom.corp_id, secret=wecom.secret,
                             agent_id=str(wecom.agent_id), timeout=2)
        with app.db.transaction() as session:
            enqueue(session=session, channel="wecom", target="wangfang", reply=Reply(said), now=T0)
        assert LEAD_PHONE not in raw_database(app)
        with app.db.session() as session:
            assert session.scalar(select(OutboxMessage)).body["text"] == said.replace(LEAD_PHONE, "138****1111")
        assert Dispatcher(app.db, {"wecom": client}).run_once(now=T0) == 1
        client.close()
        assert wecom.received("wangfang")[0]["text"]["content"] == said  # the person reads what they wrote
    app.db.engine.dispose()
    assert LEAD_PHONE not in raw_database(app)


FREE_PHONE, FREE_ID = "13955550123", "32010619851201203X"
FREE_SECRETS = (FREE_PHONE, FREE_ID)


def test_free_text_with_a_phone_and_an_id_number_is_stored_masked_and_a_reminder_still_arrives_whole(
        service, fakes):
    """A visit note, a reminder, an alert acknowledgement and an approval request and its
    rejection, each written with a phone and an ID number: nothing holds either number in the
    clear, every answer shows them masked, and the reminder reaches its manager word for word."""
    from crm_core.approvals import ApprovalRequest
    from crm_core.staff import Role
    from tests import factories as f
    from tests.crm_core.test_risk import T0, alerts, ingest

    wecom, _ = fakes
    with service.app.db.transaction() as session:  # account opening's second step
        f.staff(session, "sunhg", "孙合规", Role.compliance)
    bot = TestBot(service.app, now=T0, platform="wecom", pipeline=service.pipeline)
    shown_phone, shown_id = "139****0123", "320***********203X"
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"))
    alert = alerts(service)["A-100"]
    answers = [
        bot.ask("wangfang", f"今天拜访了张三，他新号码{FREE_PHONE}，身份证{FREE_ID}", at=T0),
        bot.ask("wangfang", f"明天上午10点提醒我打{FREE_PHONE}给张三，核对身份证{FREE_ID}", at=T0),
        bot.ask("wangfang", f"收到 #{alert.id}，已打{FREE_PHONE}通知客户，身份证{FREE_ID}已核对",
                at=T0 + timedelta(minutes=1)),
        bot.ask("wangfang", f"帮张三申请开户，客户手机{FREE_PHONE}，身份证{FREE_ID}", at=T0 + timedelta(minutes=2)),
    ]
    assert "已记录" in answers[0] and "提醒" in answers[1] and f"已确认 #{alert.id}" in answers[2]
    with service.app.db.session() as session:
        request_id = session.scalar(select(ApprovalRequest.id))
    assert request_id is not None, answers[3]
    answers.append(bot.ask("zhousup", f"驳回 #{request_id} 身份证{FREE_ID}与手机{FREE_PHONE}对不上",
                           at=T0 + timedelta(minutes=3)))
    assert "已驳回" in answers[-1]
    for answer in answers[:3]:
        assert shown_phone in answer and shown_id in answer, answer
    assert [a for a in answers if any(s in a for s in FREE_SECRETS)] == []

    service.app.db.engine.dispose()  # SQLite: let the WAL reach the file as well
    assert [s for s in FREE_SECRETS if s in raw_database(service.app)] == []

    due = datetime(2026, 11, 19, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, the next day
    assert service.queue_reminders(now=due) == 1
    service.dispatcher.run_once(now=due)
    texts = [m["text"]["content"] for m in wecom.received("wangfang") if m.get("msgtype") == "text"]
    assert any(f"打{FREE_PHONE}给张三，核对身份证{FREE_ID}" in t for t in texts), texts  # as they wrote it
    service.app.db.engine.dispose()
    assert [s for s in FREE_SECRETS if s in raw_database(service.app)] == []
