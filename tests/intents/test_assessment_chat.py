"""record_assessment in the chat: 张三的风险测评62分 is shown with its level and validity and saved
only after 确认, audited with the message that asked for it; read-only roles and other teams are
refused; the product request it was missing then goes to approval."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.approvals import ApprovalRequest
from crm_core.audit import AuditEntry
from crm_core.clients import Client
from crm_core.staff import Role, Staff
from crm_core.suitability import SuitabilityAssessment
from tests import factories as f


def _assessments(session) -> list[SuitabilityAssessment]:
    session.expire_all()
    return list(session.scalars(select(SuitabilityAssessment).order_by(SuitabilityAssessment.id)))


def test_a_score_is_confirmed_then_saved_audited_and_unblocks_a_product_request(app, crm, testbot):
    f.staff(crm, "comp1", "孔合规", Role.compliance)
    crm.commit()
    talk = testbot.person("m1")
    blocked = talk.send("申请给张三开通原油权限").text
    assert "测评" in blocked and crm.scalars(select(ApprovalRequest)).all() == []

    asked = talk.send("张三的风险测评62分")
    assert asked.text == ("请确认：录入风险承受能力测评：客户 张三；得分 62；等级 C4；有效期至 2028-11-18\n"
                          "回复“确认”保存，“取消”放弃。")
    assert [c.value for c in asked.choices] == ["确认", "取消"]
    assert _assessments(crm) == []
    done = talk.send("确认").text
    assert done == "已录入 张三 的风险测评：62 分，等级 C4，有效期至 2028-11-18。"
    [row] = _assessments(crm)
    assert (row.score, row.level, row.source_text, row.source_platform) == (62, "C4", "张三的风险测评62分\n确认", "terminal")  # the exchange that led to the write
    assert row.recorded_by_id == crm.scalar(select(Staff.id).where(Staff.login == "m1"))
    entry = crm.scalars(select(AuditEntry).where(AuditEntry.action == "suitability.assess")).one()
    assert entry.actor == "m1" and entry.details["score"] == 62 and entry.details["valid_until"] == "2028-11-18"

    sent = talk.send("申请给张三开通原油权限").text
    assert "测评" not in sent and "匹配" in sent
    assert len(crm.scalars(select(ApprovalRequest)).all()) == 1


def test_a_level_alone_asks_for_the_score_which_must_agree_and_cancel_drops_it(app, crm, testbot):
    talk = testbot.person("m1")
    assert talk.send("张三风险测评结果C4").text == "张三 的风险测评得了多少分？请回复问卷总分（0–100），或“取消”。"
    again = talk.send("40").text
    assert again.startswith("40 分按 suitability.yaml 属于 C3，与 C4 不符") and "请回复正确的得分" in again
    assert "得分 70；等级 C4" in talk.send("70分").text
    assert talk.send("取消").text == "已取消，没有保存。"
    assert _assessments(crm) == []
    # A level that contradicts the score said with it is refused outright; so is a score above 100.
    assert "与 C5 不符，没有保存" in talk.send("张三的风险测评62分，C5").text
    assert talk.send("张三的风险测评120分").text == "得分 120 不在 0–100 之间，没有保存。"
    assert talk.send("确认").text != "已录入"
    assert _assessments(crm) == []


def test_english_is_confirmed_in_english(app, crm, testbot):
    m1 = crm.scalar(select(Staff).where(Staff.login == "m1"))
    f.client(crm, "John Smith", m1, ["80010001"], risk_level="C3")
    crm.commit()
    talk = testbot.person("m1")
    asked = talk.send("record risk assessment for John Smith: 70 points").text
    assert asked.startswith("Please confirm: record a risk assessment: client John Smith; score 70; level C4; "
                            "valid until 2028-11-18")
    assert talk.send("yes").text == ("Recorded John Smith's risk assessment: 70 points; level C3 is now C4, "
                                     "valid until 2028-11-18.")
    crm.expire_all()
    assert crm.scalar(select(Client.risk_level).where(Client.name == "John Smith")) == "C4"


def test_read_only_roles_and_other_teams_record_nothing(app, crm, testbot):
    f.staff(crm, "comp1", "孔合规", Role.compliance)
    crm.commit()
    talk = testbot.person("comp1")
    assert talk.send("张三的风险测评62分").text == "您的岗位对客户记录只读：可以查询，不能登记或发起申请。"
    assert talk.send("确认").text != "已录入 张三 的风险测评：62 分，等级 C4，有效期至 2028-11-18。"
    other = testbot.person("m2")
    reply = other.send("张三的风险测评62分").text
    assert "请确认" not in reply and "62" not in reply
    other.send("确认")
    assert _assessments(crm) == []
    refused = crm.scalars(select(AuditEntry).where(AuditEntry.action == "access.read_only")).one()
    assert refused.actor == "comp1" and refused.details["intent"] == "record_assessment"
