"""The full phone number: for the client's own manager, in a direct chat, audited; never in a
group, never to anyone else; and never stored or logged in the clear on its way out (the outbox
keeps it encrypted until the send and drops it after)."""
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.logs import MaskPersonal
from crm_core import audit
from crm_core.clients import Client
from crm_core.outbox import OutboxStatus
from crm_core.staff import Role, Staff
from messaging.replies import Reply
from notifiers.outbox import Dispatcher, enqueue
from tests import factories as f
from tests.notifiers.test_outbox import T0, client, rows, wecom  # noqa: F401  (fixtures)
from tests.intents.test_rules import index, parse  # noqa: F401  (the fixture)

PHONE = "13812345678"


def revealed(session):
    return session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "client.phone_revealed")).all()


@pytest.mark.parametrize("said", ["张三的完整手机号", "张三手机号完整的发我", "把张三的完整电话发给我"])
def test_the_full_number_is_recognised_in_chinese(index, said):  # noqa: F811
    intent = parse(said, index)
    assert (intent.name, intent.slots.get("client")) == ("reveal_phone", "张三")


def test_the_full_number_is_recognised_in_english(index):  # noqa: F811
    intent = parse("full phone number of John Smith", index)
    assert (intent.name, intent.slots.get("client")) == ("reveal_phone", "John Smith")
    assert parse("张三的电话", index).name == "client_profile"  # the masked number, as before


def test_the_own_manager_gets_it_once_in_a_direct_chat_and_it_is_audited(app, crm, testbot):
    reply = testbot.push("张三的完整手机号", as_="m1", message_id="dm-m1-1")
    assert PHONE in reply.text and reply.sensitive
    crm.expire_all()
    zs = crm.scalar(select(Client).where(Client.name == "张三"))
    [entry] = revealed(crm)
    assert entry.actor == "m1" and entry.entity_id == str(zs.id) and entry.at is not None
    assert entry.details["source"]["text"] == "张三的完整手机号"
    assert entry.details["source"]["message_id"] == "dm-m1-1"
    assert PHONE not in json.dumps(entry.details, ensure_ascii=False)


def test_in_a_group_it_says_ask_me_directly_and_shows_nothing(app, crm, testbot):
    reply = testbot.push("张三的完整手机号", as_="m1", chat="group")
    assert reply.text == "这个问题只在私聊中回答，请私信我。" and not reply.private
    [said] = testbot.pop_all()
    assert (said.chat, said.text) == ("group", reply.text)
    crm.expire_all()
    assert revealed(crm) == []


def test_nobody_else_gets_it_not_even_a_supervisor_risk_or_an_admin(app, crm, testbot):
    f.staff(crm, "admin1", "钱管理", Role.admin)
    f.staff(crm, "comp1", "孙合规", Role.compliance)
    crm.commit()
    for login in ("sup1", "risk1", "comp1", "admin1"):
        reply = testbot.push("张三的完整手机号", as_=login)
        assert "5678" not in reply.text and "只提供给" in reply.text, login
    assert testbot.ask("m2", "张三的完整手机号") == \
        "没有找到您名下（或权限范围内）的客户「张三」。"
    crm.expire_all()
    assert revealed(crm) == []
    refused = crm.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "client.phone_refused")).all()
    assert sorted(e.actor for e in refused) == ["admin1", "comp1", "risk1", "sup1"]


def test_the_outbox_keeps_it_encrypted_until_sent_and_drops_it_after(app, wecom, client, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    with app.db.transaction() as session:
        enqueue(session=session, channel="wecom", target="wangfang", reply=Reply(f"张三：{PHONE}", sensitive=True),
                now=T0)
    with app.db.session() as session:  # what a copy of the database holds, read raw
        stored = session.execute(text("SELECT body FROM outbox")).scalar_one()
    assert PHONE not in str(stored) and "sealed" in str(stored)
    wecom.fail_next("http500")
    dispatcher = Dispatcher(app.db, {"wecom": client}, base_delay=2)
    assert dispatcher.run_once(now=T0) == 0
    [row] = rows(app)
    assert row.status == OutboxStatus.pending and PHONE not in json.dumps(row.body)
    assert dispatcher.run_once(now=T0 + timedelta(seconds=2)) == 1
    assert wecom.received("wangfang")[0]["text"]["content"] == f"张三：{PHONE}"
    [row] = rows(app)
    assert row.status == OutboxStatus.delivered and row.body.get("redacted") and "sealed" not in row.body
    assert not [r for r in caplog.records if PHONE in r.getMessage()]


def test_through_slack_the_dm_shows_it_and_nothing_keeps_it(app, crm):
    """The whole way: a Slack DM, the outbox, the fake Slack; the database and the log after (at
    DEBUG, where slack_sdk logs what it sends, through the log file's filter)."""
    from tests.fakes.slack_server import FakeSlack
    from tests.fakes.slack_sign import dm_message
    from tests.running import running
    from tests.bot.platforms.test_slack import SECRET, deliver, wait_for
    from bot.service import Service

    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    collect = Collect(logging.DEBUG)
    collect.addFilter(MaskPersonal())
    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    root.addHandler(collect)
    crm.scalar(select(Staff).where(Staff.login == "m1")).slack_user_id = "U0WANG"
    crm.commit()
    with FakeSlack() as slack:
        s = app.settings
        s.slack_bot_token, s.slack_signing_secret, s.slack_api_base = slack.token, SECRET, slack.base_url
        with running(Service(app)) as base:
            deliver(base, dm_message(SECRET, user="U0WANG", text="张三的完整手机号", channel="D0WANG"))
            assert wait_for(lambda: slack.posted)
    root.removeHandler(collect)
    root.level = level
    assert PHONE in slack.posted[0]["text"]
    with app.db.session() as session:
        bodies = [str(b) for b in session.execute(text("SELECT body FROM outbox")).scalars()]
        assert bodies and not [b for b in bodies if PHONE in b]
        assert not [b for b in session.execute(text("SELECT details FROM audit_log")).scalars() if PHONE in str(b)]
    assert any("slack" in line for line in lines) and not [line for line in lines if PHONE in line]
