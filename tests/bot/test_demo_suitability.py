"""The demo's suitability assessments: most clients assessed at their level and current, some
expired, some C1, a few ending within the reminder window; product requests in the demo chat
go to approval for a suitable client and are blocked for an expired or C1 one; and the service
reminds the manager of an ending assessment once, delivered on WeCom."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.platforms.terminal.adapter import TerminalSession
from bot.pipeline import Pipeline
from bot.service import Service
from crm_core.approvals import ApprovalRequest
from crm_core.clients import Client, Lifecycle
from bot.demo.seed import seed_demo
from crm_core.reminders import Reminder
from crm_core.staff import Staff
from crm_core.suitability import SuitabilityAssessment, level_of
from notifiers.wecom import WeComClient
from tests.fakes.wecom_server import FakeWeCom

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=SH)


@pytest.fixture
def demo(session):
    summary = seed_demo(session=session, now=NOW)
    session.commit()
    session.expire_all()
    return summary


def _newest(session) -> dict[int, SuitabilityAssessment]:
    newest = {}
    for row in session.scalars(select(SuitabilityAssessment).order_by(SuitabilityAssessment.assessed_at)):
        newest[row.client_id] = row
    return newest


def _state(row: SuitabilityAssessment, window: timedelta) -> str:
    if row.expires_at <= NOW:
        return "expired"
    return "expiring" if row.expires_at <= NOW + window else "current"


def test_most_clients_have_a_current_assessment_at_their_level_and_some_do_not(demo, session, app):
    rules = app.suitability
    window = timedelta(days=rules.reminder_days)
    newest = _newest(session)
    clients = session.scalars(select(Client)).all()
    trading = [c for c in clients if c.lifecycle in (Lifecycle.active, Lifecycle.dormant)]
    assert all(c.id in newest for c in trading)  # every trading client was assessed once
    assert not any(c.id in newest for c in clients if c.lifecycle is Lifecycle.lead)
    for client in clients:
        row = newest.get(client.id)
        if row is not None:
            assert row.level == client.risk_level == level_of(row.score, rules), client.name
            assert row.assessed_at < NOW and row.source_platform == "demo"
            assert row.recorded_by_id == client.manager_id
    states = Counter(_state(newest[c.id], window) for c in trading)
    assert states["current"] >= 0.8 * len(trading)
    assert 5 <= states["expired"] <= 0.15 * len(trading) and 3 <= states["expiring"] <= 0.1 * len(trading)
    lowest = [c for c in trading if newest[c.id].level == "C1" and _state(newest[c.id], window) != "expired"]
    assert 3 <= len(lowest) <= 0.1 * len(trading)

    first = session.scalar(select(Staff).where(Staff.login == demo.first_manager_login))
    mine = Counter(_state(newest[c.id], window) for c in trading if c.manager_id == first.id)
    assert mine["expired"] and mine["expiring"]
    assert any(newest[c.id].level == "C1" for c in trading if c.manager_id == first.id)


def test_a_product_request_goes_to_approval_for_a_suitable_client_and_not_for_expired_or_c1(demo, session, app):
    newest = _newest(session)
    first = session.scalar(select(Staff).where(Staff.login == demo.first_manager_login))
    mine = session.scalars(select(Client).where(Client.manager_id == first.id, Client.lifecycle == Lifecycle.active)
                           .order_by(Client.id)).all()
    expired = next(c for c in mine if newest[c.id].expires_at <= NOW)
    lowest = next(c for c in mine if newest[c.id].level == "C1" and newest[c.id].expires_at > NOW)
    talk = TerminalSession(first.login, Pipeline(app).handle, now=NOW, tz=app.db.tz)

    sent = talk.send("申请给张三开通原油权限").text
    assert "已提交审批" in sent and "张三 的适当性等级为 C4，原油 的风险等级为 R4：匹配。" in sent
    blocked = talk.send(f"申请给{expired.name}开通原油权限").text
    assert f"{expired.name} 的适当性评估（{expired.risk_level}）已于" in blocked and "过期" in blocked
    blocked = talk.send(f"申请给{lowest.name}开通期货权限").text
    assert "风险承受能力最低类别（C1）" in blocked
    session.expire_all()
    assert session.scalar(select(func.count(ApprovalRequest.id))) == 1


def test_the_service_reminds_the_manager_of_an_ending_demo_assessment_once_on_wecom(demo, session, app):
    rules = app.suitability
    first = session.scalar(select(Staff).where(Staff.login == demo.first_manager_login))
    ending = [row for row in _newest(session).values()
              if NOW < row.expires_at <= NOW + timedelta(days=rules.reminder_days)
              and row.client.manager_id == first.id]
    assert ending
    with FakeWeCom(users={s.wecom_userid for s in session.scalars(select(Staff))}) as wecom:
        app.settings.wecom_corp_id, app.settings.wecom_secret = wecom.corp_id, wecom.secret
        app.settings.wecom_agent_id, app.settings.wecom_api_base = str(wecom.agent_id), wecom.base_url
        sender = WeComClient(app.db, api_base=wecom.base_url, corp_id=wecom.corp_id, secret=wecom.secret,
                             agent_id=str(wecom.agent_id))
        try:
            service = Service(app, senders={"wecom": sender})
            queued = service.suitability_reminders(now=NOW)
            assert queued >= len(ending)
            assert service.suitability_reminders(now=NOW + timedelta(hours=1)) == 0  # once, not hourly
            service.queue_reminders(now=NOW + timedelta(minutes=1))
            while service.dispatcher.run_once(now=NOW + timedelta(minutes=2)):
                pass
            texts = [m["text"]["content"] for m in wecom.received(first.wecom_userid)]
        finally:
            sender.close()
    for row in ending:
        valid_until = (row.expires_at.astimezone(SH) - timedelta(days=1)).date().isoformat()
        wanted = f"{row.client.name} 的适当性评估（{row.level}）有效期至 {valid_until}，请安排重新测评。"
        assert sum(wanted in text for text in texts) == 1, (wanted, texts)
    session.expire_all()
    assert session.scalar(select(func.count(Reminder.id)).where(Reminder.content.contains("适当性评估"))) == queued
