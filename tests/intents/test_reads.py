"""What account managers read back (issue 13 items 4, 5): a client's contact history, their
reminders and leads, a colleague's figures and clients for a supervisor, the exchange risk
degree, help for each role, and requests the bot cannot carry out."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm_core import audit
from crm_core.clients import Client, Lifecycle
from crm_core.interactions import Channel, Interaction, log_interaction
from crm_core.leads import create_lead
from crm_core.reminders import Reminder, ReminderStatus, create_reminder
from crm_core.staff import Role, Staff
from tests import factories as f
from tests.worlds import NOW, SNAP_AT


def person(session, login: str) -> Staff:
    return session.scalar(select(Staff).where(Staff.login == login))


def client(session, name: str) -> Client:
    return session.scalar(select(Client).where(Client.name == name))


@pytest.fixture
def contacts(app, crm):
    """张三 (王芳's) with three contacts logged by 王芳 and her supervisor, one with a phone number."""
    m1, sup1, zs = person(crm, "m1"), person(crm, "sup1"), client(crm, "张三")
    for days, who, channel, summary in ((9, m1, Channel.visit, "聊了套保方案"),
                                        (4, sup1, Channel.phone, "客户新号码13900001111，确认追保"),
                                        (1, m1, Channel.wechat, "发了螺纹周报")):
        log_interaction(session=crm, actor=who, client=zs, channel=channel, occurred_at=NOW - timedelta(days=days),
                        summary=summary)
    crm.commit()
    return crm


# -- contact_history --------------------------------------------------------------------------

def test_contact_history_lists_the_latest_contacts_newest_first_with_who_logged_them(app, contacts, testbot):
    reply = testbot.person("m1").send("张三最近联系记录")
    text = reply.text
    assert "张三 最近联系记录（共 3 条" in text
    assert text.index("发了螺纹周报") < text.index("确认追保") < text.index("聊了套保方案")
    assert "2026-11-17 09:30 微信（王芳）发了螺纹周报" in text
    assert "电话（周总监）" in text
    assert "139****1111" in text and "13900001111" not in text
    assert reply.private


@pytest.mark.parametrize("question", ["最近有没有联系过张三", "张三最近有没有联系过", "张三最近有没有联系过？",
                                      "上次跟张三聊了什么", "今天拜访张三了吗？", "张三这周打过电话吗"])
def test_a_question_about_contact_is_answered_from_the_record_and_saves_nothing(app, contacts, testbot, question):
    text = testbot.person("m1").send(question).text
    assert "张三 最近联系记录" in text and "已记录" not in text
    contacts.expire_all()
    assert len(contacts.scalars(select(Interaction)).all()) == 3


def test_telling_about_a_contact_still_logs_it(app, contacts, testbot):
    assert "已记录" in testbot.person("m1").send("今天下午拜访了张三，聊了期权").text
    contacts.expire_all()
    assert len(contacts.scalars(select(Interaction)).all()) == 4


def test_contact_history_in_english(app, contacts, testbot):
    crm = contacts
    f.client(crm, "John Smith", person(crm, "m1"), ["80010001"])
    crm.commit()
    text = testbot.person("m1").send("how did I last contact John Smith").text
    assert "No contact with John Smith has been logged yet." == text


def test_another_teams_client_has_no_history_for_them_and_it_is_not_confirmed_to_exist(app, contacts, testbot):
    theirs = testbot.person("m2").send("张三最近联系记录").text
    nobody = testbot.person("m2").send("赵六最近联系记录").text
    assert theirs == "没有找到您名下（或权限范围内）的客户「张三」。"
    assert nobody == "没有找到您名下（或权限范围内）的客户「赵六」。"
    # Those who may see the client read it: the supervisor of the team, risk.
    assert "聊了套保方案" in testbot.person("sup1").send("张三最近联系记录").text
    assert "聊了套保方案" in testbot.person("risk1").send("张三最近联系记录").text


# -- list_reminders ---------------------------------------------------------------------------

@pytest.fixture
def reminders(app, crm):
    m1, m2 = person(crm, "m1"), person(crm, "m2")
    tz = app.db.tz
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=tz)  # noqa: E731
    create_reminder(session=crm, actor=m1, due_at=at("2026-11-18T15:00"), content="给张三打电话")
    create_reminder(session=crm, actor=m1, due_at=at("2026-11-19T10:00"), content="交周报")
    create_reminder(session=crm, actor=m1, due_at=at("2026-11-22T09:00"), content="周日看持仓", date_only=True)
    create_reminder(session=crm, actor=m1, due_at=at("2026-11-25T09:00"), content="下周三拜访李总")
    done = create_reminder(session=crm, actor=m1, due_at=at("2026-11-18T16:00"), content="已经办完的事")
    done.status = ReminderStatus.done
    create_reminder(session=crm, actor=m2, due_at=at("2026-11-18T11:00"), content="刘洋的事")
    crm.commit()
    return crm


def test_todays_reminders_are_mine_pending_with_their_times(app, reminders, testbot):
    text = testbot.person("m1").send("我今天有哪些提醒").text
    assert "（2026-11-18）共 1 条" in text and "2026-11-18 15:00 给张三打电话" in text
    assert "交周报" not in text and "已经办完的事" not in text and "刘洋的事" not in text


def test_this_week_runs_monday_to_sunday_and_tomorrow_is_one_day(app, reminders, testbot):
    week = testbot.person("m1").send("这周的待办").text
    assert "2026-11-16 ~ 2026-11-22" in week and "共 3 条" in week
    assert week.index("给张三打电话") < week.index("交周报") < week.index("2026-11-22 周日看持仓")
    assert "下周三拜访李总" not in week
    tomorrow = testbot.person("m1").send("明天要干嘛").text
    assert "2026-11-19 10:00 交周报" in tomorrow and "给张三打电话" not in tomorrow


def test_all_pending_reminders_and_none_in_a_range(app, reminders, testbot):
    text = testbot.person("m1").send("my reminders").text
    assert "4 in all" in text and "2026-11-25 09:00 下周三拜访李总" in text
    assert "您没有提醒（2026-12-01 ~ 2026-12-31）" in testbot.person("m1").send("下个月的提醒").text


def test_a_delivered_reminder_still_shows_for_its_day(app, reminders, testbot):
    reminder = reminders.scalar(select(Reminder).where(Reminder.content == "给张三打电话"))
    reminder.status = ReminderStatus.sent
    reminders.commit()
    assert "给张三打电话（已提醒）" in testbot.person("m1").send("我今天有哪些提醒").text
    assert "给张三打电话" not in testbot.person("m1").send("我的提醒").text  # not pending any more


def test_asking_for_the_list_sets_no_reminder(app, reminders, testbot):
    testbot.person("m1").send("这周的待办")
    testbot.person("m1").send("my reminders")
    reminders.expire_all()
    assert len(reminders.scalars(select(Reminder)).all()) == 6


# -- list_leads -------------------------------------------------------------------------------

@pytest.fixture
def leads(app, crm):
    create_lead(session=crm, actor=person(crm, "m1"), name="王大锤", phone="13800001111", interest="原油期权",
                lead_source="朋友介绍")
    create_lead(session=crm, actor=person(crm, "m1b"), name="钱多多", phone="13700002222")
    create_lead(session=crm, actor=person(crm, "m2"), name="孙小美", phone="13600003333")
    crm.commit()
    return crm


def test_my_leads_are_mine_with_phones_masked(app, leads, testbot):
    text = testbot.person("m1").send("我的线索").text
    assert "您的线索共 1 条" in text and "王大锤，138****1111，原油期权，朋友介绍" in text
    assert "13800001111" not in text and "钱多多" not in text and "孙小美" not in text
    assert "张三" not in text  # a client, not a lead


def test_a_supervisor_sees_the_teams_leads_with_their_owners(app, leads, testbot):
    text = testbot.person("sup1").send("线索池").text
    assert "线索共 2 条" in text and "归属 王芳" in text and "钱多多，137****2222，归属 陈静" in text
    assert "孙小美" not in text and "13700002222" not in text


def test_no_leads_says_how_to_register_one(app, crm, testbot):
    assert testbot.person("m1").send("my leads").text.startswith("You have no leads yet.")
    assert "您名下还没有线索" in testbot.person("m1").send("我的线索").text
    crm.expire_all()
    assert crm.scalar(select(Client).where(Client.lifecycle == Lifecycle.lead)) is None  # nothing registered


# -- a colleague's figures and clients ---------------------------------------------------------

def test_a_supervisor_gets_a_team_members_figures_not_their_own(app, contacts, testbot):
    text = testbot.person("sup1").send("王芳这个月的业绩").text
    assert text.startswith("王芳 本月数据")
    assert "客户数：3" in text and "客户权益合计：1,425,363.60" in text and "联系记录：2" in text


def test_a_supervisor_cannot_see_another_teams_member(app, contacts, testbot):
    text = testbot.person("sup1").send("刘洋这个月的业绩").text
    assert "只能查看自己的业绩" in text and "客户数" not in text
    contacts.expire_all()
    entry = contacts.scalar(select(audit.AuditEntry).where(audit.AuditEntry.action == "access.subject_refused"))
    assert entry is not None and entry.actor == "sup1"


def test_a_manager_asking_about_another_manager_is_refused_politely(app, contacts, testbot):
    text = testbot.person("m1b").send("王芳这个月的业绩").text
    assert text == "抱歉，您只能查看自己的业绩（主管可以查看本团队成员的），王芳 的数据无法提供。"
    assert "客户数" in testbot.person("m1").send("王芳这个月的业绩").text  # her own


def test_a_name_nobody_has_is_said_not_found(app, crm, testbot):
    assert testbot.person("sup1").send("赵六这个月的业绩").text == "没有找到名为「赵六」的同事。"


def test_a_supervisor_lists_a_members_clients_by_a_condition(app, crm, testbot):
    m1b = person(crm, "m1b")
    f.client(crm, "钱多多", m1b, ["90050001"])
    f.snapshot(crm, "90050001", SNAP_AT, "100000.00", "95000.00")
    f.client(crm, "陈小春", person(crm, "m1"), ["90050002"])
    f.snapshot(crm, "90050002", SNAP_AT, "100000.00", "92000.00")
    crm.commit()
    text = testbot.person("sup1").send("王芳的客户里风险度超过90%的").text
    assert "共 1 位" in text and "陈小春" in text and "钱多多" not in text
    refused = testbot.person("m1b").send("王芳的客户里风险度超过90%的").text  # a manager, about another
    assert "陈小春" not in refused and "王芳 的客户无法提供" in refused


# -- exchange risk degree ------------------------------------------------------------------------

def test_clients_above_an_exchange_risk_degree(app, crm, testbot):
    m1 = person(crm, "m1")
    f.client(crm, "陈小春", m1, ["90050002"])
    f.snapshot(crm, "90050002", SNAP_AT, "100000.00", "120000.00", exchange_margin="101000.00")
    f.client(crm, "钱多多", m1, ["90050001"])
    f.snapshot(crm, "90050001", SNAP_AT, "100000.00", "120000.00", exchange_margin="99990.00")
    crm.commit()
    text = testbot.person("m1").send("交易所风险度超过100%的客户").text
    assert "共 1 位" in text and "陈小春" in text and "交易所风险度 101.00%" in text and "钱多多" not in text
    text = testbot.person("m1").send("交易所风险度超过40%的客户").text  # 张三: 42.18%
    assert "共 3 位" in text and text.index("陈小春") < text.index("钱多多") < text.index("张三")
    assert "交易所风险度 42.18%" in text


def test_without_exchange_margin_in_the_data_the_figure_is_said_unavailable(app, crm, testbot):
    text = testbot.person("m2").send("交易所风险度超过100%的客户").text  # 李四's snapshot has none
    assert "交易所风险度暂时无法筛选" in text


# -- help by role, and what the bot cannot do -----------------------------------------------------

@pytest.mark.parametrize("login, expected, absent", [
    ("m1", ["张三最近联系记录", "我今天有哪些提醒", "我的线索"], ["同意 #12"]),
    ("sup1", ["王芳这个月的业绩", "王芳名下一个月没联系的客户", "同意 #12"], ["张三的风险测评62分"]),
    ("risk1", ["交易所风险度超过一百的客户", "收到 #45"], ["王芳这个月的业绩", "新客户王大锤"]),
    ("comp1", ["只读", "张三最近联系记录", "同意 #12"], ["今天下午拜访了张三", "新客户王大锤"]),
])
def test_help_shows_each_role_what_it_can_ask(app, crm, testbot, login, expected, absent):
    if login == "comp1":
        f.staff(crm, "comp1", "孙合规", Role.compliance)
        crm.commit()
    text = testbot.person(login).send("帮助").text
    for part in expected:
        assert part in text, (login, part)
    for part in absent:
        assert part not in text, (login, part)


@pytest.mark.parametrize("request_", ["下单买10手螺纹", "帮我转账", "修改密码", "给客户发短信", "帮张三买5手rb2601"])
def test_what_the_bot_cannot_do_is_said_with_what_it_can(app, crm, testbot, request_):
    reply = testbot.person("m1").send(request_).text
    assert "这个我办不了" in reply and "查资金" in reply
    assert "rb2601（SHFE）" not in reply  # not read as a question about 张三's positions
    crm.expire_all()
    assert crm.scalar(select(Interaction)) is None and crm.scalar(select(Reminder)) is None


def test_a_compound_surname_asked_about_is_not_saved_as_a_visit(app, crm, testbot):
    """The bug of issue 13: "欧阳晓峰最近有没有联系过" was logged as a visit, its words as the note."""
    f.client(crm, "欧阳晓峰", person(crm, "m1"), ["91000001"])
    crm.commit()
    for question in ("欧阳晓峰最近有没有联系过", "最近有没有联系过欧阳晓峰"):
        assert testbot.person("m1").send(question).text == "欧阳晓峰 还没有联系记录。"
    crm.expire_all()
    assert crm.scalar(select(Interaction)) is None


def test_a_range_at_the_calendars_end_is_answered(app, reminders, testbot):
    assert "You have no reminders (9999-12-31)" in testbot.person("m1").send("9999-12-31 my reminders").text
    assert "You have no reminders (0001-01-01)" in testbot.person("m1").send("0001-01-01 my reminders").text
