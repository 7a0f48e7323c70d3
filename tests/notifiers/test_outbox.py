"""Outgoing messages through the durable outbox to a fake WeCom that speaks the real API:
delivered with the platform's id, retried on errors, held back (never dropped) at the
30-a-minute limit, a stale token replaced exactly once, reminders delivered at their time."""
import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.service import Service
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.reminders import Reminder, ReminderStatus, create_reminder
from crm_core.staff import Role
from messaging.replies import Reply
from notifiers.outbox import Dispatcher, enqueue
from notifiers.wecom import WeComClient
from tests import factories as f
from tests.fakes.wecom_server import FakeWeCom

T0 = datetime(2026, 11, 18, 1, 30, tzinfo=timezone.utc)


@pytest.fixture
def wecom():
    with FakeWeCom(users={"wangfang", "lijun"}, timeout_delay=1.0) as fake:
        yield fake


@pytest.fixture
def client(app, wecom):
    c = WeComClient(app.db, api_base=wecom.base_url, corp_id=wecom.corp_id, secret=wecom.secret,
                    agent_id=str(wecom.agent_id), timeout=0.5)
    yield c
    c.close()


def queue(app, n=1, target="wangfang", text="hello", now=T0):
    with app.db.transaction() as session:
        for i in range(n):
            enqueue(session=session, channel="wecom", target=target, reply=Reply(f"{text} {i}"), now=now)


def rows(app):
    with app.db.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_queued_message_is_delivered_with_the_platform_id(app, wecom, client):
    queue(app)
    assert Dispatcher(app.db, {"wecom": client}).run_once(now=T0) == 1
    [row] = rows(app)
    assert row.status == OutboxStatus.delivered and row.platform_message_id == wecom.sent[0].msgid
    assert wecom.received("wangfang")[0]["text"]["content"] == "hello 0"


def test_errors_and_timeouts_are_retried_with_backoff_until_delivered(app, wecom, client):
    wecom.fail_next("http500")
    wecom.fail_next("timeout")
    queue(app)
    dispatcher = Dispatcher(app.db, {"wecom": client}, base_delay=2)
    assert dispatcher.run_once(now=T0) == 0
    [row] = rows(app)
    assert row.status == OutboxStatus.pending and row.attempts == 1 and "HTTP 500" in row.last_error
    assert dispatcher.run_once(now=T0 + timedelta(seconds=1)) == 0  # not due yet: nothing sent
    assert dispatcher.run_once(now=T0 + timedelta(seconds=2)) == 0
    [row] = rows(app)
    assert row.attempts == 2 and "timed out" in row.last_error
    assert row.next_attempt_at == T0 + timedelta(seconds=2 + 4)
    assert dispatcher.run_once(now=T0 + timedelta(seconds=6)) == 1
    assert len(wecom.sent) == 1  # delivered once, not once per attempt


def test_a_permanent_error_fails_visibly(app, wecom, client):
    queue(app, target="stranger")
    Dispatcher(app.db, {"wecom": client}).run_once(now=T0)
    [row] = rows(app)
    assert row.status == OutboxStatus.failed and "81013" in row.last_error


def test_a_stale_token_costs_exactly_one_new_token(app, wecom, client):
    queue(app, 2)
    dispatcher = Dispatcher(app.db, {"wecom": client})
    dispatcher.run_once(now=T0)
    assert wecom.token_requests == 1
    wecom.expire_tokens()
    queue(app, 3, now=T0 + timedelta(seconds=5))
    assert dispatcher.run_once(now=T0 + timedelta(seconds=5)) == 3
    assert wecom.token_requests == 2 and len(wecom.sent) == 5


def test_more_than_30_a_minute_to_one_person_are_held_back_not_dropped(app, wecom, client):
    queue(app, 35)
    dispatcher = Dispatcher(app.db, {"wecom": client})
    assert dispatcher.run_once(now=T0) == 30
    held = [r for r in rows(app) if r.status == OutboxStatus.pending]
    assert len(held) == 5 and all(r.next_attempt_at == T0 + timedelta(minutes=1) for r in held)
    wecom.advance(60)
    assert dispatcher.run_once(now=T0 + timedelta(minutes=1)) == 5
    assert len(wecom.sent) == 35 and not wecom.dropped


def test_a_due_reminder_reaches_the_manager_on_wecom_once(app, wecom, session):
    m1 = f.staff(session, "wangfang", "王芳", Role.manager, wecom_userid="wangfang")
    create_reminder(session=session, actor=m1, due_at=T0 + timedelta(hours=1), content="给张三打电话")
    session.commit()
    app.settings.wecom_corp_id, app.settings.wecom_secret = wecom.corp_id, wecom.secret
    app.settings.wecom_agent_id, app.settings.wecom_api_base = str(wecom.agent_id), wecom.base_url
    service = Service(app, senders={"wecom": WeComClient(app.db, api_base=wecom.base_url, corp_id=wecom.corp_id,
                                                         secret=wecom.secret, agent_id=str(wecom.agent_id))})
    assert service.queue_reminders(now=T0) == 0  # not yet
    assert service.queue_reminders(now=T0 + timedelta(hours=1)) == 1
    assert service.queue_reminders(now=T0 + timedelta(hours=2)) == 0  # once
    service.dispatcher.run_once(now=T0 + timedelta(hours=1))
    assert wecom.received("wangfang")[0]["text"]["content"] == "⏰ 提醒：给张三打电话"
    session.expire_all()
    assert session.scalar(select(Reminder.status)) == ReminderStatus.sent


def test_the_same_answer_twice_reaches_the_person_twice_but_a_retry_after_a_late_send_does_not(app, wecom, client):
    dispatcher = Dispatcher(app.db, {"wecom": client}, base_delay=1)
    queue(app, text="张三 客户权益 1,000,000.00")
    queue(app, text="张三 客户权益 1,000,000.00", now=T0 + timedelta(seconds=1))
    dispatcher.run_once(now=T0 + timedelta(seconds=1))
    assert len(wecom.received("wangfang")) == 2  # asked twice, answered twice
    wecom.fail_next("late")  # WeCom delivers, but answers after our timeout
    queue(app, text="again", now=T0 + timedelta(seconds=2))
    assert dispatcher.run_once(now=T0 + timedelta(seconds=2)) == 0
    assert dispatcher.run_once(now=T0 + timedelta(minutes=1)) == 1
    assert [m["text"]["content"] for m in wecom.received("wangfang")].count("again 0") == 1


def test_after_a_kill_the_restarted_service_sends_what_the_dead_process_had_claimed_at_once(app, wecom, client):
    import socket

    queue(app, n=3)
    with app.db.transaction() as session:  # as a killed dispatcher left them: leased for two minutes
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        owners = [f"{socket.gethostname()}:999999999", f"{socket.gethostname()}:{os.getpid()}", "otherhost:1"]
        for row, owner in zip(rows, owners):
            row.status, row.next_attempt_at, row.claimed_by = OutboxStatus.sending, T0 + timedelta(minutes=2), owner
    dispatcher = Dispatcher(app.db, {"wecom": client})
    assert dispatcher.recover(now=T0) == 1  # only the dead process's row; a live one and another host's wait
    assert dispatcher.run_once(now=T0) == 1
    assert [m["text"]["content"] for m in wecom.received("wangfang")] == ["hello 0"]
