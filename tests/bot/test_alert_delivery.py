"""No notice vanishes, and the evidence says who acknowledged what (issue 10 items 7 and 8, issue
12 item 2): an alert raised where no platform reaches its recipient (a shell without platform
settings, a manager without a chat id) is queued as undeliverable with the reason, shown in
`brokerbot risk evidence`, and sent once a route appears; every acknowledgement is kept."""
import re
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.app import App
from bot.service import Service
from crm_core.risk.alerts import Alert
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.staff import Role
from tests import factories as f
from tests.fakes.wecom_server import FakeWeCom
from tests.testbot import TestBot

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, a Wednesday session


@pytest.fixture
def wecom():
    with FakeWeCom(users={"wangfang", "zhousup"}) as fake:
        yield fake


def with_wecom(settings, wecom):
    return settings.model_copy(update=dict(wecom_corp_id=wecom.corp_id, wecom_secret=wecom.secret,
                                           wecom_agent_id=str(wecom.agent_id), wecom_api_base=wecom.base_url))


def people(app, **wang_ids):
    with app.db.transaction() as session:
        team = f.team(session, "一组")
        sup = f.staff(session, "zhousup", "周主管", Role.supervisor, team, wecom_userid="zhousup")
        wang = f.staff(session, "wangfang", "王芳", Role.manager, team, sup, **wang_ids)
        f.client(session, "张三", wang, accounts=["A-85"])


def the_alert(app) -> Alert:
    with app.db.session() as session:
        return session.scalars(select(Alert)).one()


def evidence_lines(cli, alert_id, login="wangfang"):
    result = cli("risk", "evidence", str(alert_id))
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if f"\t{login}\t" in line]


def wait_for(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_warning_imported_in_a_shell_without_platform_settings_reaches_the_manager_once_serve_runs(
        cli, app, settings, wecom, tmp_path):
    people(app, wecom_userid="wangfang")
    data = tmp_path / "snap.csv"
    data.write_text("account_no,timestamp,balance,curr_margin\n"
                    "A-85,2026-11-18T10:00:00+08:00,1000000.00,850000.00\n", encoding="utf-8")
    result = cli("import", "snapshots", str(data))  # the cli fixture has no platform settings
    assert result.returncode == 0, result.stderr
    assert "risk alerts: 1 opened" in result.stdout
    alert = the_alert(app)
    [line] = evidence_lines(cli, alert.id)
    assert "undeliverable" in line and "no platform configured" in line

    service = Service(App(with_wecom(settings, wecom)))
    service.start()
    try:
        assert wait_for(lambda: len(wecom.received("wangfang")) == 1)
        assert f"#{alert.id}" in str(wecom.received("wangfang")[0]) and "警告" in str(wecom.received("wangfang")[0])
        service.reroute()
        service.dispatcher.run_once()
        time.sleep(2.5)  # a scheduled round or so more
        assert len(wecom.received("wangfang")) == 1
    finally:
        service.stop()
    [line] = evidence_lines(cli, alert.id)
    assert re.search(r"\tdelivered\tdelivered \d{4}-", line) and re.search(r"msgid \S{2,}", line)
    assert re.search(r"undeliverable until \S+ \S+: no platform configured", line)


def test_a_manager_without_any_platform_id_gets_the_notice_once_a_staff_import_gives_one(
        cli, app, settings, wecom, tmp_path):
    people(app)  # 王芳 has no chat id at all
    service = Service(App(with_wecom(settings, wecom)))
    try:
        with service.app.db.transaction() as session:
            account_id = f.snapshot(session, "A-85", T0, "1000000.00", "850000.00").account_id
        service.after_ingest("snapshots", [account_id], T0)
        alert = the_alert(app)
        service.reroute()
        service.dispatcher.run_once()
        assert wecom.received("wangfang") == []
        [line] = evidence_lines(cli, alert.id)
        assert "undeliverable" in line and "王芳 has no WeCom/DingTalk/Slack id" in line

        staff_file = tmp_path / "staff.csv"
        staff_file.write_text("login,name,role,team,supervisor,wecom_userid\n"
                              "zhousup,周主管,supervisor,一组,,zhousup\n"
                              "wangfang,王芳,manager,一组,zhousup,wangfang\n", encoding="utf-8")
        result = cli("import", "staff", str(staff_file))
        assert result.returncode == 0, result.stderr
        service.reroute()
        service.dispatcher.run_once()
        assert len(wecom.received("wangfang")) == 1 and f"#{alert.id}" in str(wecom.received("wangfang")[0])
    finally:
        service.stop()
    [line] = evidence_lines(cli, alert.id)
    assert re.search(r"\tdelivered\tdelivered \d{4}-", line) and "王芳 has no WeCom/DingTalk/Slack id" in line


def test_two_replicas_rerouting_at_once_send_each_waiting_notice_once(app, settings, wecom):
    people(app)
    first = Service(App(with_wecom(settings, wecom)))
    second = Service(App(with_wecom(settings, wecom)))
    try:
        with first.app.db.transaction() as session:
            wang = session.scalar(select(f.Staff).where(f.Staff.login == "wangfang"))
            for i in range(20):
                f.client(session, f"客户{i:02d}", wang, accounts=[f"S-{i:03d}"])
            ids = [f.snapshot(session, f"S-{i:03d}", T0, "100000.00", "85000.00").account_id for i in range(20)]
        for i in ids:  # one alert at a time: twenty single notices, not a digest
            first.after_ingest("snapshots", [i], T0)
        with first.app.db.transaction() as session:
            session.scalar(select(f.Staff).where(f.Staff.login == "wangfang")).wecom_userid = "wangfang"

        def run(service):
            for _ in range(3):
                service.reroute()
                service.dispatcher.run_once()

        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        received = [str(m) for m in wecom.received("wangfang")]
        with app.db.session() as session:
            alert_ids = list(session.scalars(select(Alert.id)))
            statuses = {m.status for m in session.scalars(select(OutboxMessage))}
        assert len(received) == 20 and statuses == {OutboxStatus.delivered}
        assert all(sum(f"#{a} " in text for text in received) == 1 for a in alert_ids)
    finally:
        first.stop()
        second.stop()


def test_a_reminder_for_someone_no_platform_reaches_is_kept_and_sent_once_they_can_be_reached(app, settings, wecom):
    from crm_core.reminders import Reminder

    people(app)
    service = Service(App(with_wecom(settings, wecom)))
    try:
        with service.app.db.transaction() as session:
            wang = session.scalar(select(f.Staff).where(f.Staff.login == "wangfang"))
            session.add(Reminder(staff_id=wang.id, due_at=T0, content="给张三打电话"))
        service.queue_reminders(T0 + timedelta(minutes=1))
        service.queue_reminders(T0 + timedelta(minutes=2))
        with app.db.session() as session:
            [row] = session.scalars(select(OutboxMessage)).all()
            assert row.status == OutboxStatus.unrouted and "王芳 has no WeCom/DingTalk/Slack id" in row.unrouted_reason
        with service.app.db.transaction() as session:
            session.scalar(select(f.Staff).where(f.Staff.login == "wangfang")).wecom_userid = "wangfang"
        service.reroute()
        service.dispatcher.run_once()
        assert len(wecom.received("wangfang")) == 1 and "给张三打电话" in str(wecom.received("wangfang")[0])
    finally:
        service.stop()


def test_every_acknowledgement_is_in_the_evidence_with_its_comment_time_and_message(cli, app, settings, wecom):
    people(app, wecom_userid="wangfang")
    service = Service(App(with_wecom(settings, wecom)))
    try:
        with service.app.db.transaction() as session:
            account_id = f.snapshot(session, "A-85", T0, "1000000.00", "850000.00").account_id
        service.after_ingest("snapshots", [account_id], T0)
        alert = the_alert(app)
        bot = TestBot(service.app, now=T0, platform="wecom", pipeline=service.pipeline)
        first = bot.push(f"收到 #{alert.id}，已电话通知客户", as_="wangfang", message_id="msg-ack-1",
                         at=T0 + timedelta(minutes=3))
        assert f"已确认 #{alert.id}" in first.text
        second = bot.push(f"收到 #{alert.id} 我来跟进客户入金", as_="zhousup", message_id="msg-ack-2",
                          at=T0 + timedelta(minutes=9))
        assert f"#{alert.id}" in second.text and "我来跟进客户入金" in second.text and "王芳" in second.text
        again = bot.push(f"收到 #{alert.id}", as_="wangfang", message_id="msg-ack-3", at=T0 + timedelta(minutes=10))
        assert "王芳" in again.text  # a bare repeat records nothing new
    finally:
        service.stop()
    result = cli("risk", "evidence", str(alert.id))
    assert result.returncode == 0, result.stderr
    acks = [line for line in result.stdout.splitlines() if "acknowledged by" in line]
    assert len(acks) == 2
    assert "wangfang" in acks[0] and "2026-11-18 10:03" in acks[0] and "wecom:msg-ack-1" in acks[0]
    assert "已电话通知客户" in acks[0] and f"收到 #{alert.id}，已电话通知客户" in acks[0]
    assert "zhousup" in acks[1] and "2026-11-18 10:09" in acks[1] and "wecom:msg-ack-2" in acks[1]
    assert "我来跟进客户入金" in acks[1]


def test_an_unreachable_manager_gets_one_waiting_notice_while_the_margin_call_escalates(app, settings, wecom):
    people(app)
    service = Service(App(with_wecom(settings, wecom)))
    try:
        with service.app.db.transaction() as session:
            account_id = f.snapshot(session, "A-85", T0, "1000000.00", "1023500.00").account_id
        service.after_ingest("snapshots", [account_id], T0)
        for minutes in (31, 45, 61, 95, 130):  # escalation, then renotify times
            service.alerting.follow_up(T0 + timedelta(minutes=minutes))
        with app.db.session() as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.target, r.status) for r in rows] == [("wangfang", OutboxStatus.unrouted),
                                                        ("zhousup", OutboxStatus.pending)]
        assert "未确认·追保" in rows[1].body["text"]  # the supervisor heard of it after 30 minutes
        with service.app.db.transaction() as session:
            session.scalar(select(f.Staff).where(f.Staff.login == "wangfang")).wecom_userid = "wangfang"
        assert service.reroute(T0 + timedelta(minutes=140)) == 1
        service.dispatcher.run_once()
        assert len(wecom.received("wangfang")) == 1
        service.alerting.follow_up(T0 + timedelta(minutes=150))
        assert len(outbox_rows(app)) == 2  # re-notified only renotify_minutes after it reached them
        service.alerting.follow_up(T0 + timedelta(minutes=201))
        assert len(outbox_rows(app)) == 3
    finally:
        service.stop()


def outbox_rows(app):
    with app.db.session() as session:
        return session.scalars(select(OutboxMessage)).all()
