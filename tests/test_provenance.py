"""A write completed over several messages (a numbered pick, a 确认, an answer to the bot's
question) records every message of the exchange, in order, not just the last "2"."""
from datetime import timedelta

from sqlalchemy import select

from bot.events import ChatEvent
from bot.pipeline import Pipeline
from crm_core import audit
from crm_core.approvals import ApprovalRequest
from crm_core.clients import Client
from crm_core.interactions import Interaction
from tests.test_chat import NOW, crm  # noqa: F401  (crm is a fixture)


class Talk:
    """One staff member's messages with ids of our choosing, a second apart."""

    def __init__(self, app, login: str):
        self.handle, self.login, self.n = Pipeline(app).handle, login, 0

    def send(self, text: str, message_id: str) -> str:
        self.n += 1
        return self.handle(ChatEvent("terminal", message_id, self.login, text,
                                     NOW + timedelta(seconds=self.n))).text


def _last_audit(session, action: str) -> audit.AuditEntry:
    return session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == action)
                           .order_by(audit.AuditEntry.id.desc())).first()


def test_a_write_completed_by_picking_from_a_list_keeps_both_messages(app, crm):
    talk = Talk(app, "m1")
    assert "有 2 位客户符合“张伟”" in talk.send("张伟今天电话沟通了套保", "m-100")
    answer = talk.send("2", "m-101")
    if "请确认" in answer:  # the reading may be shown first; the 确认 is then part of the exchange
        answer = talk.send("确认", "m-102")
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


def test_a_confirmed_write_keeps_the_request_and_the_confirmation(app, crm):
    talk = Talk(app, "m1")
    assert "请确认" in talk.send("新客户王大锤，电话13800001111，对原油期权感兴趣", "m-200")
    assert "已登记线索" in talk.send("确认", "m-201")
    crm.expire_all()
    lead = crm.scalar(select(Client).where(Client.name == "王大锤"))
    assert lead.source_message_id == "m-200,m-201"
    assert lead.source_text == "新客户王大锤，电话138****1111，对原油期权感兴趣\n确认"
    entry = _last_audit(crm, "lead.create")
    assert entry.details["source"]["message_id"] == "m-200,m-201"
    assert entry.details["source"]["text"] == lead.source_text


def test_a_request_completed_by_answering_the_question_keeps_both_messages(app, crm):
    talk = Talk(app, "m1")
    assert "几倍" in talk.send("帮张三申请手续费优惠", "m-300")
    assert "#" in talk.send("1.2倍", "m-301")
    crm.expire_all()
    request = crm.scalar(select(ApprovalRequest))
    assert request.details["fee_multiple"] == "1.2"
    assert (request.source_message_id, request.source_text) == ("m-300,m-301", "帮张三申请手续费优惠\n1.2倍")
    entry = _last_audit(crm, "approval.request")
    assert entry.details["source"]["text"] == "帮张三申请手续费优惠\n1.2倍"


def test_a_new_request_after_an_abandoned_question_starts_a_new_exchange(app, crm):
    talk = Talk(app, "m1")
    talk.send("张伟今天电话沟通了套保", "m-400")
    answer = talk.send("今天下午拜访了张三，聊了套保方案", "m-401")  # not an answer: a request of its own
    if "请确认" in answer:
        talk.send("确认", "m-402")
    crm.expire_all()
    interaction = crm.scalar(select(Interaction))
    assert interaction.source_text.startswith("今天下午拜访了张三")
    assert "张伟" not in interaction.source_text and "m-400" not in interaction.source_message_id
