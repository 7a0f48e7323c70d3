"""Risk monitoring as the risk desk sees it: an account crossing a level raises one alert, its
manager and the group chats of channels.yaml hear of it (with the figures and an id), nobody
hears it twice, an acknowledgement in chat is recorded with what was done, a rise escalates, a
fall resolves where it was announced, silence escalates to the supervisor, and a storm comes
as digests. Delivery goes through the real outbox to fake WeCom and DingTalk servers."""
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from bot.app import App
from bot.service import Service
from crm_core.risk.alerts import Alert, AlertKind, AlertLevel, AlertNotification, AlertStatus
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.staff import Role
from tests import factories as f
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.fakes.wecom_server import FakeWeCom
from tests.testbot import TestBot

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, a Wednesday session
DING_TOKEN, DING_SECRET = "risk-ding-token", "SECfake0123456789"


@pytest.fixture
def fakes():
    with FakeWeCom(users={"wangfang", "zhousup", "lijun", "chenrisk"}) as wecom, \
            FakeDingTalk(webhooks={DING_TOKEN: DING_SECRET}) as ding:
        yield wecom, ding


@pytest.fixture
def service(settings, tmp_path, fakes):
    wecom, ding = fakes
    config = f.channels(tmp_path, wecom, more=f"""\
  - name: risk-ding
    type: dingtalk_webhook
    url: {ding.base_url}/robot/send?access_token={DING_TOKEN}
    secret: {DING_SECRET}
    levels: [margin_call, force_close]
    teams: ["*"]
""")
    (config / "risk_rules.yaml").write_text("""
levels:
  warning: {risk_degree: 80}
  margin_call: {risk_degree: 100}
  force_close: {exchange_risk_degree: 100}
equity_drop_percent: 30
large_transfer: {amount: 5000000, channels: [risk-desk]}
overrides:
  accounts:
    "A-VIP": {levels: {warning: {risk_degree: 90}}}
""", encoding="utf-8")
    s = settings.model_copy(update=dict(
        config_dir=config, wecom_corp_id=wecom.corp_id, wecom_secret=wecom.secret,
        wecom_agent_id=str(wecom.agent_id), wecom_api_base=wecom.base_url))
    svc = Service(App(s))
    with svc.app.db.transaction() as session:
        team = f.team(session, "一组")
        sup = f.staff(session, "zhousup", "周主管", Role.supervisor, team, wecom_userid="zhousup")
        wang = f.staff(session, "wangfang", "王芳", Role.manager, team, sup, wecom_userid="wangfang")
        other = f.team(session, "二组")
        li = f.staff(session, "lijun", "李军", Role.manager, other, wecom_userid="lijun")
        f.staff(session, "chenrisk", "陈风控", Role.risk, wecom_userid="chenrisk")
        f.client(session, "张三", wang, accounts=["A-100"])
        f.client(session, "李四", wang, accounts=["A-85"])
        f.client(session, "王五", li, accounts=["A-LI"])
        f.client(session, "钱六", wang, accounts=["A-VIP"])
    yield svc
    svc.stop()


@pytest.fixture
def bot(service) -> TestBot:
    """The service's people writing to the bot on WeCom."""
    return TestBot(service.app, now=T0, platform="wecom", pipeline=service.pipeline)


def snap(svc, account_no, at, balance, margin, exchange_margin=None, **more):
    with svc.app.db.transaction() as session:
        row = f.snapshot(session, account_no, at, balance, margin, exchange_margin)
        for key, value in more.items():
            setattr(row, key, value)
        return row.account_id


def ingest(svc, at, *rows):
    ids = [snap(svc, no, at, *figures) for no, *figures in rows]
    svc.after_ingest("snapshots", ids, at)
    return ids


def outbox(svc, **where):
    with svc.app.db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list(session.scalars(query))


def alerts(svc):
    with svc.app.db.session() as session:
        return {a.account.account_no: a for a in session.scalars(select(Alert).order_by(Alert.id))}


def test_a_margin_call_reaches_the_manager_and_both_risk_groups_once_with_figures_and_an_id(service, fakes):
    wecom, ding = fakes
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"), ("A-85", "1000000.00", "850000.00"))
    call, warning = alerts(service)["A-100"], alerts(service)["A-85"]
    assert (call.level, warning.level) == (AlertLevel.margin_call, AlertLevel.warning)
    assert service.dispatcher.run_once(now=T0) == 5  # 2 DMs, 2 WeCom group posts, 1 DingTalk group post

    [dm_call, dm_warning] = [json.dumps(m, ensure_ascii=False) for m in wecom.received("wangfang")]
    assert f"#{call.id}" in dm_call and "追保" in dm_call and "张三" in dm_call
    assert "102.35%" in dm_call and "应追加资金 23,500.00" in dm_call and "数据时间 2026-11-18 10:00" in dm_call
    assert f"收到 #{call.id}" in dm_call  # the button that acknowledges it
    assert f"#{warning.id}" in dm_warning and "警告" in dm_warning
    group = wecom.webhook_messages["riskkey"]
    assert all(any(f"#{a.id} " in str(m) for m in group) for a in (call, warning))  # merged or not
    assert "收到 #" not in str(group)  # a group robot cannot hear an answer: no ack hint there
    assert len(ding.webhook_messages) == 1 and f"#{call.id}" in str(ding.webhook_messages[0])  # no warnings there

    service.after_ingest("snapshots", [call.account_id, warning.account_id], T0)  # evaluated again
    ingest(service, T0 + timedelta(minutes=1), ("A-100", "1000000.00", "1030000.00"))
    assert len(outbox(service)) == 5  # the same batch again, or the same level, raises nothing new
    with service.app.db.session() as session:
        evidence = session.scalars(select(AlertNotification).where(AlertNotification.alert_id == call.id)).all()
        assert sorted(e.recipient for e in evidence) == ["#risk-desk", "#risk-ding", "wangfang"]
        assert all(session.get(OutboxMessage, e.outbox_id).status == OutboxStatus.delivered for e in evidence)
        assert all(session.get(OutboxMessage, e.outbox_id).platform_message_id for e in evidence
                   if e.recipient == "wangfang")


def test_acknowledging_in_chat_is_answered_and_recorded_and_other_teams_learn_nothing(service, bot):
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"))
    alert = alerts(service)["A-100"]
    assert "没有找到" in bot.ask("lijun", f"收到 #{alert.id} 已处理", at=T0)
    answer = bot.ask("wangfang", f"收到 #{alert.id}，已电话通知客户追保", at=T0 + timedelta(minutes=3))
    assert f"已确认 #{alert.id}" in answer and "已电话通知客户追保" in answer
    acked = alerts(service)["A-100"]
    assert acked.status == AlertStatus.acknowledged and acked.ack_comment == "已电话通知客户追保"
    assert acked.source_platform == "wecom" and acked.source_text == f"收到 #{alert.id}，已电话通知客户追保"
    assert "王芳" in bot.ask("zhousup", f"收到 #{alert.id} 我来跟进", at=T0 + timedelta(minutes=4))
    listing = bot.ask("wangfang", "我的风险预警", at=T0)
    assert f"#{alert.id}" in listing and "已确认" in listing
    assert "没有" in bot.ask("lijun", "我的风险预警", at=T0)


def test_exchange_risk_over_100_escalates_to_force_close_and_a_fall_resolves_where_announced(service):
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"))
    service.dispatcher.run_once(now=T0)
    ingest(service, T0 + timedelta(minutes=5), ("A-100", "1000000.00", "1040000.00", "1010000.00"))
    alert = alerts(service)["A-100"]
    assert alert.level == AlertLevel.force_close and alert.status == AlertStatus.notified
    escalated = [m.body["text"] for m in outbox(service, target="wangfang")][-1]
    assert "升级：追保→强平" in escalated and "交易所风险度 101.00%" in escalated

    ingest(service, T0 + timedelta(minutes=10), ("A-100", "1000000.00", "780000.00"))  # 78%: within the margin
    assert alerts(service)["A-100"].status != AlertStatus.resolved
    before = len(outbox(service))
    ingest(service, T0 + timedelta(minutes=15), ("A-100", "1000000.00", "740000.00"))  # 74%: below 80 - 5
    assert alerts(service)["A-100"].status == AlertStatus.resolved
    resolved = outbox(service)[before:]
    assert sorted((m.channel, m.target) for m in resolved) == [
        ("dingtalk_webhook", "risk-ding"), ("wecom", "wangfang"), ("wecom_webhook", "risk-desk")]
    assert all("已解除" in m.body["text"] for m in resolved)
    ingest(service, T0 + timedelta(minutes=20), ("A-100", "1000000.00", "1023500.00"))
    with service.app.db.session() as session:  # a new crossing is a new alert, the old one stays resolved
        assert session.scalar(select(func.count()).select_from(Alert)) == 2


def test_an_unacknowledged_margin_call_escalates_to_the_supervisor_and_groups_once(service):
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"), ("A-85", "1000000.00", "850000.00"))
    assert service.alerting.follow_up(T0 + timedelta(minutes=29)) == 0
    before = len(outbox(service))
    service.alerting.follow_up(T0 + timedelta(minutes=31))
    new = outbox(service)[before:]
    to_sup = [m for m in new if m.target == "zhousup"]
    assert len(to_sup) == 1 and "未确认·追保" in to_sup[0].body["text"] and "王芳" in to_sup[0].body["text"]
    assert {m.target for m in new} == {"zhousup", "risk-desk", "risk-ding"}  # the warning is not escalated
    service.alerting.follow_up(T0 + timedelta(minutes=45))
    assert len(outbox(service)) == len(new) + before  # once
    service.alerting.follow_up(T0 + timedelta(minutes=61))  # still unacknowledged: the manager again
    again = [m.body["text"] for m in outbox(service)[before + len(new):]]
    assert len(again) == 2 and all("再次提醒" in text for text in again)


def test_an_acknowledged_margin_call_does_not_escalate(service, bot):
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"))
    bot.ask("wangfang", f"收到 #{alerts(service)['A-100'].id} 客户已入金", at=T0 + timedelta(minutes=2))
    before = len(outbox(service))
    service.alerting.follow_up(T0 + timedelta(hours=2))
    assert len(outbox(service)) == before


def test_a_storm_comes_as_one_digest_per_recipient_and_every_alert_has_its_evidence(service):
    with service.app.db.transaction() as session:
        wang = session.scalar(select(f.Staff).where(f.Staff.login == "wangfang"))
        for i in range(40):
            f.client(session, f"客户{i:02d}", wang, accounts=[f"S-{i:03d}"])
    ids = ingest(service, T0, *[(f"S-{i:03d}", "100000.00", f"{101000 + i * 100}.00") for i in range(40)])
    assert len(ids) == 40
    messages = outbox(service)
    assert sorted((m.channel, m.target) for m in messages) == [
        ("dingtalk_webhook", "risk-ding"), ("wecom", "wangfang"), ("wecom_webhook", "risk-desk")]
    digest = next(m.body["text"] for m in messages if m.target == "wangfang")
    assert "40 条" in digest and "追保 40" in digest and "……另有 30 条" in digest
    assert "客户39" in digest  # the worst account is named first
    with service.app.db.session() as session:
        told = session.scalar(select(func.count(func.distinct(AlertNotification.alert_id)))
                              .where(AlertNotification.digest.is_(True)))
        assert told == 40


def test_overrides_notices_and_the_sweep_calendar(service):
    vip, = ingest(service, T0, ("A-VIP", "1000000.00", "850000.00"))  # 85%: under the account's own 90%
    assert "A-VIP" not in alerts(service)
    snap(service, "A-85", T0, "600000.00", "100000.00", pre_balance=Decimal("1000000.00"),
         deposit=Decimal("6000000.00"))
    assert service.risk_sweep(datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)) == 0  # a Saturday: no sweep
    assert service.risk_sweep(T0) == 2
    with service.app.db.session() as session:
        found = list(session.scalars(select(Alert)))
    assert sorted(a.kind.value for a in found) == ["equity_drop", "large_transfer"]
    transfer = next(a for a in found if a.kind == AlertKind.large_transfer)
    targets = {m.target for m in outbox(service) if "大额出入金" in m.body["text"]}
    assert targets == {"wangfang", "risk-desk"} and transfer.level == AlertLevel.warning
    assert service.risk_sweep(T0 + timedelta(minutes=5)) == 0  # once per day


def test_risk_scan_and_evidence_from_the_command_line(cli, app):
    with app.db.transaction() as session:
        wang = f.staff(session, "wangfang", "王芳", Role.manager)
        f.client(session, "张三", wang, accounts=["A-100"])
        f.snapshot(session, "A-100", T0, "1000000.00", "1023500.00")
    result = cli("risk", "scan", "--now", "2026-11-18T10:00:00+08:00")
    assert result.returncode == 0, result.stderr
    assert "opened" in result.stdout and "margin_call" in result.stdout and "102.35%" in result.stdout
    alert_id = result.stdout.split("#")[1].split()[0]
    again = cli("risk", "scan")
    assert again.stdout == ""
    evidence = cli("risk", "evidence", alert_id)
    assert evidence.returncode == 0 and "张三" in evidence.stdout and "A-100" in evidence.stdout
    assert cli("risk", "evidence", "999").returncode == 1


def test_importing_margin_data_raises_alerts_at_once(cli, app, tmp_path):
    with app.db.transaction() as session:
        wang = f.staff(session, "wangfang", "王芳", Role.manager)
        f.client(session, "张三", wang, accounts=["A-100"])
    data = tmp_path / "snap.csv"
    data.write_text("account_no,timestamp,balance,curr_margin,exchange_margin\n"
                    "A-100,2026-11-18T10:00:00+08:00,1000000.00,1023500.00,1010000.00\n", encoding="utf-8")
    result = cli("import", "snapshots", str(data))
    assert result.returncode == 0, result.stderr
    assert "risk alerts: 1 opened" in result.stdout
    with app.db.session() as session:
        [alert] = session.scalars(select(Alert)).all()
        assert alert.level == AlertLevel.force_close  # exchange risk degree 101%
    again = cli("import", "snapshots", str(data))
    assert "risk alerts" not in again.stdout  # nothing new written, nothing new raised


def test_the_pre_open_digest_lists_unmet_margin_calls_on_trading_days_only(service):
    ingest(service, T0, ("A-100", "1000000.00", "1023500.00"), ("A-85", "1000000.00", "850000.00"))
    before = len(outbox(service))
    saturday = datetime(2026, 11, 21, 0, 30, tzinfo=timezone.utc)
    assert service.pre_open(saturday) == 0
    thursday = datetime(2026, 11, 19, 0, 30, tzinfo=timezone.utc)  # 08:30 in Shanghai
    assert service.pre_open(thursday) == 3  # the manager and both risk groups
    digests = outbox(service)[before:]
    to_manager = next(m.body["text"] for m in digests if m.target == "wangfang")
    assert "开盘前未解除预警" in to_manager and "张三" in to_manager and "李四" not in to_manager  # warnings stay out


def test_many_alerts_resolving_at_once_are_written_in_one_statement_and_announced(service):
    # Margin calls (money owed) and warnings (none owed) alternate, so the figures that change on
    # resolution differ from one alert to the next; they are still one UPDATE, not one per alert.
    with service.app.db.transaction() as session:
        wang = session.scalar(select(f.Staff).where(f.Staff.login == "wangfang"))
        for i in range(40):
            f.client(session, f"客户{i:02d}", wang, accounts=[f"R-{i:03d}"])
    numbers = [f"R-{i:03d}" for i in range(40)]
    ingest(service, T0, *[(no, "100000.00", "105000.00" if i % 2 else "85000.00") for i, no in enumerate(numbers)])
    statements = []
    listen = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(service.app.db.engine, "before_cursor_execute", listen)
    try:
        ingest(service, T0 + timedelta(minutes=5), *[(no, "100000.00", "50000.00") for no in numbers])
    finally:
        event.remove(service.app.db.engine, "before_cursor_execute", listen)
    assert all(a.status == AlertStatus.resolved for no, a in alerts(service).items() if no in numbers)
    resolving = [s for s in statements if s.startswith("UPDATE alerts") and "resolved_at" in s]
    assert len(resolving) == 1
    told = next(m.body["text"] for m in outbox(service) if m.target == "wangfang" and "已解除" in m.body["text"])
    assert "40 条" in told


def test_a_snapshot_batch_through_the_rest_api_raises_the_margin_call_once(service, fakes):
    from fastapi.testclient import TestClient

    from bot.http import create_app
    from crm_core import tokens

    wecom, ding = fakes
    with service.app.db.transaction() as session:
        token = tokens.create_token(session=session, name="back-office")
    row = {"account_no": "A-100", "timestamp": "2026-11-18T10:00:00+08:00", "balance": "1000000.00",
           "curr_margin": "1023500.00"}
    http = TestClient(create_app(service))
    assert http.post("/api/v1/snapshots", json=[row]).status_code == 401
    assert not alerts(service)
    for _ in range(2):  # the same batch again gives nothing new
        assert http.post("/api/v1/snapshots", json=[row],
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200
    [alert] = alerts(service).values()
    assert alert.level == AlertLevel.margin_call
    service.dispatcher.run_once()
    assert len(wecom.received("wangfang")) == 1 and f"#{alert.id} " in str(wecom.webhook_messages["riskkey"])
    assert len(ding.webhook_messages) == 1


def test_a_withdrawal_is_no_equity_drop_but_a_trading_loss_of_the_same_size_is(service):
    # Both accounts start the day at 15,000,000 and end it at 9,000,000 (40% less): A-85's client
    # withdrew 6,000,000, A-100's lost it trading. The equity-drop rule's 30% sees only the loss;
    # the withdrawal, above the 5,000,000 large-transfer amount, gets that notice instead.
    snap(service, "A-85", T0, "9000000.00", "100000.00", pre_balance=Decimal("15000000.00"),
         withdraw=Decimal("6000000.00"), deposit=Decimal("0.00"))
    snap(service, "A-100", T0, "9000000.00", "100000.00", pre_balance=Decimal("15000000.00"),
         close_profit=Decimal("-6000000.00"))
    service.risk_sweep(T0)
    with service.app.db.session() as session:
        found = sorted((a.account.account_no, a.kind.value, a.note) for a in session.scalars(select(Alert)))
    assert found == [("A-100", "equity_drop", "40.00"), ("A-85", "large_transfer", "withdraw:6000000.00")]
    texts = [m.body["text"] for m in outbox(service)]
    assert any("权益下降" in t and "张三" in t for t in texts)
    assert not any("权益下降" in t and "李四" in t for t in texts)


def test_a_loss_after_a_deposit_is_measured_against_what_the_client_had_in_the_account(service):
    # 1,000,000 at the start of the day, 1,000,000 paid in, 700,000 lost: 35% of the 2,000,000.
    snap(service, "A-85", T0, "1300000.00", "100000.00", pre_balance=Decimal("1000000.00"),
         deposit=Decimal("1000000.00"))
    # 1,000,000, 500,000 taken out, 100,000 lost: 20% of the 500,000 left, under the 30%.
    snap(service, "A-100", T0, "400000.00", "100000.00", pre_balance=Decimal("1000000.00"),
         withdraw=Decimal("500000.00"))
    service.risk_sweep(T0)
    with service.app.db.session() as session:
        found = sorted((a.account.account_no, a.kind.value, a.note) for a in session.scalars(select(Alert)))
    assert found == [("A-85", "equity_drop", "35.00")]
