"""update_client and undo_last in the chat: changes shown and saved only after 确认, by the
client's manager or their supervisor, audited with the phone number only masked; undo reverses
my own last chat write of the last 24 hours and says so in the audit log."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from crm_core import audit
from crm_core.audit import AuditEntry
from crm_core.clients import Client
from crm_core.interactions import Interaction
from crm_core.reminders import Reminder, ReminderStatus
from crm_core.staff import Role, Staff
from tests import factories as f

NEW_PHONE = "13800138000"
OLD_PHONE = "13812345678"


def entries(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def zhang(session) -> Client:
    session.expire_all()
    return session.scalar(select(Client).where(Client.name == "张三"))


@pytest.mark.parametrize("said, shown", [("给张三加个标签VIP", "VIP"), ("张三去掉套保标签", "套保"),
                                         ("把张三手机号改成13800138000", "138****8000"),
                                         ("张三的生日改成1988-05-06", "1988-05-06")])
def test_a_change_is_shown_not_the_profile_and_nothing_is_saved_before_confirm(app, crm, testbot, said, shown):
    before = (zhang(crm).tags, zhang(crm).phone_hash, zhang(crm).birthday)
    reply = testbot.person("m1").send(said)
    assert "请确认" in reply.text and shown in reply.text and "客户档案" not in reply.text
    assert [c.value for c in reply.choices] == ["确认", "取消"]
    assert (zhang(crm).tags, zhang(crm).phone_hash, zhang(crm).birthday) == before
    assert "已取消" in testbot.person("m1").say("取消")
    assert (zhang(crm).tags, zhang(crm).phone_hash, zhang(crm).birthday) == before


def test_a_new_phone_is_stored_encrypted_audited_masked_and_its_provenance_kept(app, crm, testbot):
    talk = testbot.person("m1")
    talk.say("把张三手机号改成13800138000")
    assert "138****8000" in talk.say("确认")
    client = zhang(crm)
    assert client.phone_hash == app.db.cipher.blind_index(NEW_PHONE)  # found by number, like every client phone
    assert client.masked_phone(app.db.cipher) == "138****8000"
    raw = crm.execute(text("SELECT phone_enc, source_text FROM clients WHERE name = '张三'")).one()
    assert NEW_PHONE not in raw[0]
    assert raw[1] == "把张三手机号改成138****8000\n确认"  # where the change came from, masked
    [entry] = entries(crm, "client.update")
    assert entry.actor == "m1" and entry.entity_id == str(client.id)
    assert (entry.details["before"], entry.details["after"]) == ("138****5678", "138****8000")
    stored = crm.execute(text("SELECT details FROM audit_log WHERE action = 'client.update'")).scalar()
    stored = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
    assert NEW_PHONE not in stored and OLD_PHONE not in stored
    assert audit.verify(session=crm)[1] is None


def test_a_supervisor_may_change_risk_may_not_and_another_team_learns_nothing(app, crm, testbot):
    talk = testbot.person("sup1")
    talk.say("给张三加个标签大客户")
    assert "已修改" in talk.say("确认")
    assert "大客户" in zhang(crm).tags
    refused = testbot.person("risk1").say("给张三加个标签VIP")  # risk sees every client, manages none
    assert "只有 张三 的客户经理或其主管" in refused and "VIP" not in zhang(crm).tags
    assert entries(crm, "client.update_refused")[0].actor == "risk1"
    for login in ("m2", "m1b"):  # another team's manager; a colleague of the same team
        theirs = testbot.person(login).say("给张三加个标签VIP")
        unknown = testbot.person(login).say("给钱多多加个标签VIP")
        assert theirs.replace("张三", "X") == unknown.replace("钱多多", "X")
        assert "请确认" not in theirs
    assert "VIP" not in zhang(crm).tags


def test_a_birthday_without_a_year_keeps_the_year_on_file(app, crm, testbot):
    talk = testbot.person("m1")
    assert "哪一年" in talk.say("张三生日是5月6号")  # nothing on file: the day alone cannot be kept
    talk.say("张三的生日改成1988-05-06")
    talk.say("确认")
    assert "1988-05-07" in talk.say("张三生日是5月7号")
    talk.say("确认")
    assert zhang(crm).birthday.isoformat() == "1988-05-07"


def test_undo_of_a_visit_deletes_it_and_its_followup_and_audits_both(app, crm, testbot):
    talk = testbot.person("m1")
    talk.say("今天下午拜访了张三，聊了套保方案，下周二再跟进")
    assert "拜访" in talk.say("刚才记错了")
    done = talk.say("确认")
    assert "已撤销" in done and "重新发给我" in done
    crm.expire_all()
    assert crm.scalars(select(Interaction)).all() == [] and crm.scalars(select(Reminder)).all() == []
    [created] = entries(crm, "interaction.create")
    [undone] = entries(crm, "interaction.undone")
    assert undone.details["undoes"] == created.id and undone.actor == "m1"
    assert entries(crm, "reminder.undone")[0].details["undoes"] == entries(crm, "reminder.create")[0].id
    assert audit.verify(session=crm)[1] is None


def test_only_my_own_writes_of_the_last_day_are_undone(app, crm, testbot):
    testbot.person("m2").say("明天上午十点提醒我给李四打电话")
    assert "没有可以撤销" in testbot.person("m1").say("撤销")  # 刘洋's reminder is not 王芳's to undo
    testbot.person("m1").say("明天上午十点提醒我给张三打电话")
    later = datetime.now(timezone.utc) + timedelta(hours=25)  # the audit log's clock is the real one
    assert "没有可以撤销" in testbot.person("m1").say("撤销", at=later)
    testbot.person("m1").say("撤销")
    assert "已撤销" in testbot.person("m1").say("确认")
    crm.expire_all()
    statuses = {r.staff_id: r.status for r in crm.scalars(select(Reminder))}
    m1, m2 = (crm.scalar(select(Staff.id).where(Staff.login == login)) for login in ("m1", "m2"))
    assert statuses == {m1: ReminderStatus.cancelled, m2: ReminderStatus.pending}


def test_a_change_made_again_since_is_not_undone(app, crm, testbot):
    testbot.person("m1").say("给张三加个标签VIP")
    testbot.person("m1").say("确认")
    testbot.person("sup1").say("张三去掉VIP标签")
    testbot.person("sup1").say("确认")
    testbot.person("m1").say("撤销")
    assert "之后又被改过" in testbot.person("m1").say("确认")
    assert "VIP" not in zhang(crm).tags and entries(crm, "client.undone") == []


def test_an_approval_request_is_not_undone_in_the_chat(app, crm, testbot):
    testbot.person("m1").say("今天下午拜访了张三，聊了套保方案")
    testbot.person("m1").say("帮张三申请手续费优惠，按交易所1.2倍")
    reply = testbot.person("m1").send("撤销")
    assert "审批申请" in reply.text and "不能在聊天里撤销" in reply.text and not reply.choices
    assert crm.scalars(select(Interaction)).all() != []


def test_compliance_has_nothing_to_change(app, crm, testbot):
    f.staff(crm, "comp1", "孙合规", Role.compliance)
    crm.commit()
    assert "只读" in testbot.person("comp1").say("给张三加个标签VIP")
    assert "VIP" not in zhang(crm).tags
