"""The rest of the catalog as a manager uses it in the chat: client lists, reminders, leads,
KPI figures, and confirmation before writes the bot is not sure about."""
import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm_core.clients import Client, Lifecycle
from crm_core.interactions import Channel, log_interaction
from crm_core.reminders import Reminder
from crm_core.staff import Staff
from tests import factories as f
from tests.worlds import NOW, SNAP_AT


@pytest.fixture
def book(app, crm):
    m1 = crm.scalar(select(Staff).where(Staff.login == "m1"))
    wang = f.client(crm, "王五", m1, ["90040001"], birthday=date(1980, 12, 5), risk_level="C3")
    wang.set_tags(["套保"])
    f.snapshot(crm, "90040001", SNAP_AT, "100000.00", "85000.00")
    zs = crm.scalar(select(Client).where(Client.name == "张三"))
    log_interaction(session=crm, actor=m1, client=zs, channel=Channel.phone,
                    occurred_at=NOW - timedelta(days=3), summary="问了保证金")
    crm.commit()
    return crm


def test_clients_above_a_risk_degree_are_listed_highest_first_and_a_number_opens_one(app, book, testbot):
    talk = testbot.person("m1")
    text = talk.send("风险度超过50%的客户").text
    assert "共 2 位" in text
    assert text.index("王五") < text.index("张三") and "85.00%" in text
    assert "李四" not in text  # another team's client, though over 100%
    assert "王五 客户档案" in talk.send("1").text


def test_top_n_by_risk_and_not_contacted_lists(app, book, testbot):
    assert "1. 王五" in testbot.person("m1").send("风险度最高的1个客户").text
    text = testbot.person("m1").send("一个月没联系的客户").text
    assert "王五" in text and "从未联系" in text and "张三" not in text


def test_tag_and_birthday_filters(app, book, testbot):
    assert "王五" in testbot.person("m1").send("标签是套保的客户有哪些").text
    text = testbot.person("m1").send("下个月过生日的客户").text
    assert "王五" in text and "12-05" in text


def test_reminder_is_stored_for_its_time_and_a_missing_time_is_asked_for(app, book, testbot):
    reply = testbot.person("m1").send("明天上午十点提醒我给张三打电话").text
    assert "2026-11-19 10:00" in reply
    book.expire_all()
    reminder = book.scalar(select(Reminder))
    assert reminder.due_at.astimezone(app.db.tz).isoformat() == "2026-11-19T10:00:00+08:00"
    assert reminder.client_id == book.scalar(select(Client.id).where(Client.name == "张三"))
    assert reminder.source_text == "明天上午十点提醒我给张三打电话"
    assert "什么时候提醒您" in testbot.person("m1").send("提醒我一下").text


def test_lead_is_confirmed_then_registered_masked_and_not_duplicated(app, book, caplog, testbot):
    caplog.set_level(logging.INFO)
    talk = testbot.person("m1")
    first = talk.send("新客户王大锤，电话13800001111，对原油期权感兴趣").text
    assert "请确认" in first  # a name the CRM does not know yet: shown before it is saved
    assert "138****1111" in first and "13800001111" not in first
    first = talk.send("确认").text
    assert "已登记线索：王大锤" in first and "138****1111" in first
    book.expire_all()
    lead = book.scalar(select(Client).where(Client.name == "王大锤"))
    assert lead.lifecycle == Lifecycle.lead and lead.manager.login == "m1"
    assert lead.source_text == "新客户王大锤，电话138****1111，对原油期权感兴趣\n确认"  # masked, the whole exchange
    again = talk.send("新客户王大锤，电话13800001111，对原油期权感兴趣").text
    if "请确认" in again:
        again = talk.send("确认").text
    assert "没有重复登记" in again
    assert len(book.scalars(select(Client).where(Client.name == "王大锤")).all()) == 1
    assert caplog.records and not any("13800001111" in r.getMessage() for r in caplog.records)


def test_an_uncertain_write_can_be_cancelled(app, book, testbot):
    talk = testbot.person("m1")
    prompt = talk.send("新客户赵小明 13900002222").text
    assert "请确认" in prompt
    assert "已取消" in talk.send("取消").text
    book.expire_all()
    assert book.scalar(select(Client).where(Client.name == "赵小明")) is None


def test_kpi_for_me_and_a_manager_asking_for_the_branch_gets_their_own(app, book, testbot):
    text = testbot.person("m1").send("我这个月的业绩").text
    assert "客户数：" in text and "联系记录：1" in text
    branch = testbot.person("m1").send("全营业部本月数据").text
    assert "显示的是我的数据" in branch
    assert "客户权益合计：1,725,363.60" in testbot.person("risk1").send("全营业部本月数据").text
