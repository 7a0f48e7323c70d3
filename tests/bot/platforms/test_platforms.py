"""The platform registry drives the service: a platform brought at run time (a tiny fake, "pager")
gets its callback route, its identities, its retries answered once, its sender, and the direct
messages of the people whose notify_via names it, without a line changed elsewhere."""
from datetime import datetime, timezone

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient

import tests.factories as f
from bot.app import App
from bot.delivery import deliver, direct_notifier
from bot.events import ChatEvent
from bot.http import create_app
from bot.platforms import registry
from bot.routing import direct_channel
from bot.service import Service
from crm_core.staff import Role
from messaging.replies import Reply


class Pager:
    """A whole platform: inbound at POST /pager/hook, outbound to `sent`."""
    name, label, identity_column, order, routable, dedupe = "pager", "Pager", "login", 5, True, True

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []
        self.started = self.stopped = 0

    def configured(self, settings) -> bool:
        return True

    def sender(self, app):
        pager = self

        class Sender:
            def send(self, target: str, body: dict) -> str:
                pager.sent.append((target, body))
                return f"p{len(pager.sent)}"
        return Sender()

    def routers(self, service) -> list:
        api = APIRouter()

        @api.post("/pager/hook")
        async def hook(request: Request):
            data = await request.json()
            event = ChatEvent("pager", data["id"], data["user"], data["text"], datetime.now(timezone.utc))
            reply = service.pipeline.handle(event)
            if reply is not None:
                deliver(service, event, reply)
            return {}
        return [api]

    def start(self, service) -> None:
        self.started += 1

    def stop(self, service) -> None:
        self.stopped += 1


@pytest.fixture
def pager():
    platform = registry.register(Pager())
    yield platform
    registry.unregister("pager")


def test_a_platform_registered_at_run_time_is_served_and_routed_to(app, session, pager):
    east = f.team(session, "东区")
    m1 = f.staff(session, "m1", "王芳", Role.manager, east, wecom_userid="wangfang")
    m2 = f.staff(session, "m2", "刘洋", Role.manager, east, notify_via="pager")
    session.commit()
    settings = app.settings.model_copy(update={"wecom_corp_id": "ww1", "wecom_secret": "s", "wecom_agent_id": "1"})
    assert direct_channel(m2, settings) == ("pager", "m2")  # notify_via names it
    assert direct_channel(m1, settings) == ("pager", "m1")  # first in the registry's order

    service = Service(App(app.settings))
    assert "pager" in service.senders
    with TestClient(create_app(service)) as http:  # its route, and start/stop with the service
        for _ in range(2):  # the platform retries: answered once
            assert http.post("/pager/hook", json={"id": "hook-1", "user": "m2", "text": "帮助"}).status_code == 200
        assert pager.started == 1
        answers = [body for target, body in pager.sent if target == "m2"]
        assert len(answers) == 1 and answers[0]["text"]

        with service.app.db.transaction() as tx:  # a direct message from a scheduled job
            notify = direct_notifier(tx, service.app.settings)
            assert notify(tx.get(type(m2), m2.id), Reply("保证金提醒"), purpose="notice", ref="n-1")
        service.dispatcher.run_once()
        assert ("m2", "保证金提醒") in [(target, body["text"]) for target, body in pager.sent]

        http.post("/pager/hook", json={"id": "hook-2", "user": "nobody", "text": "帮助"})
        assert pager.sent[-1][1]["text"] == service.app.messages.t("unknown_user")  # identity by its column
    assert pager.stopped == 1


def test_without_the_platform_nothing_routes_to_it(app, session):
    m2 = f.staff(session, "m2", "刘洋", Role.manager, f.team(session, "东区"), notify_via="pager",
                 wecom_userid="liuyang")
    settings = app.settings.model_copy(update={"wecom_corp_id": "ww1", "wecom_secret": "s", "wecom_agent_id": "1"})
    assert direct_channel(m2, settings) == ("wecom", "liuyang")
    assert registry.get("pager") is None
    assert [p.name for p in registry.platforms()] == ["wecom", "dingtalk", "slack", "terminal"]


def test_a_private_answer_asked_in_a_group_of_any_platform_goes_to_the_asker(app, session, pager):
    f.staff(session, "m2", "刘洋", Role.manager, f.team(session, "东区"))
    session.commit()
    service = Service(App(app.settings))
    asked = ChatEvent("pager", "g-1", "m2", "张三的保证金", datetime.now(timezone.utc), "group", "G1")
    deliver(service, asked, Reply("张三 风险度 85.00%", private=True))
    deliver(service, asked, Reply("帮助：……"))
    assert [(target, body["text"]) for target, body in pager.sent] == [
        ("m2", "张三 风险度 85.00%"), ("G1", service.app.messages.t("answered_in_dm", "zh")), ("G1", "帮助：……")]
