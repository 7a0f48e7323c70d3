"""A write completed over several messages (a numbered pick, a 确认, an answer to the bot's
question) records every message of the exchange, in order, not just the last "2"."""
from sqlalchemy import select

from crm_core import audit
from crm_core.approvals import ApprovalRequest
from crm_core.clients import Client
from crm_core.interactions import Interaction


def _last_audit(session, action: str) -> audit.AuditEntry:
    return session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == action)
                           .order_by(audit.AuditEntry.id.desc())).first()


def test_a_write_completed_by_picking_from_a_list_keeps_both_messages(app, crm, testbot):
    assert "有 2 位客户符合“张伟”" in testbot.ask("m1", "张伟今天电话沟通了套保", message_id="m-100")
    answer = testbot.ask("m1", "2", message_id="m-101")
    if "请确认" in answer:  # the reading may be shown first; the 确认 is then part of the exchange
        answer = testbot.ask("m1", "确认", message_id="m-102")
        ids, texts = "m-100,m-101,m-102", "张伟今天电话沟通了套保\n2\n确认"
    else:
        ids, texts = "m-100,m-101", "张伟今天电话沟通了套保\n2"
    assert "已记录" in answer
    crm.expire_all()
    interaction = crm.scalar(select(Interaction))
    assert crm.get(Client, interaction.client_id).accounts[0].account_no == "90020002"
    assert (interaction.source_message_id, interaction.source_text) == (ids, texts)
    assert interaction.summary != "2"  # the note is what was said, not the pick
    entry = _last_audit(crm, "interaction.create")
    assert entry.details["source"]["message_id"] == ids and entry.details["source"]["text"] == texts
    assert audit.verify(session=crm)[1] is None


def test_a_confirmed_write_keeps_the_request_and_the_confirmation(app, crm, testbot):
    assert "请确认" in testbot.ask("m1", "新客户王大锤，电话13800001111，对原油期权感兴趣", message_id="m-200")
    assert "已登记线索" in testbot.ask("m1", "确认", message_id="m-201")
    crm.expire_all()
    lead = crm.scalar(select(Client).where(Client.name == "王大锤"))
    assert lead.source_message_id == "m-200,m-201"
    assert lead.source_text == "新客户王大锤，电话138****1111，对原油期权感兴趣\n确认"
    entry = _last_audit(crm, "lead.create")
    assert entry.details["source"]["message_id"] == "m-200,m-201"
    assert entry.details["source"]["text"] == lead.source_text


def test_a_request_completed_by_answering_the_question_keeps_both_messages(app, crm, testbot):
    assert "几倍" in testbot.ask("m1", "帮张三申请手续费优惠", message_id="m-300")
    assert "#" in testbot.ask("m1", "1.2倍", message_id="m-301")
    crm.expire_all()
    request = crm.scalar(select(ApprovalRequest))
    assert request.details["fee_multiple"] == "1.2"
    assert (request.source_message_id, request.source_text) == ("m-300,m-301", "帮张三申请手续费优惠\n1.2倍")
    entry = _last_audit(crm, "approval.request")
    assert entry.details["source"]["text"] == "帮张三申请手续费优惠\n1.2倍"


def test_a_new_request_after_an_abandoned_question_starts_a_new_exchange(app, crm, testbot):
    testbot.ask("m1", "张伟今天电话沟通了套保", message_id="m-400")
    answer = testbot.ask("m1", "今天下午拜访了张三，聊了套保方案", message_id="m-401")  # not an answer: a request of its own
    if "请确认" in answer:
        testbot.ask("m1", "确认", message_id="m-402")
    crm.expire_all()
    interaction = crm.scalar(select(Interaction))
    assert interaction.source_text.startswith("今天下午拜访了张三")
    assert "张伟" not in interaction.source_text and "m-400" not in interaction.source_message_id
