"""A manager talks to brokerbot in WeCom: the real service over HTTP, WeCom's encryption and
signatures played by an independent implementation, WeCom's API by a fake server."""
import time

import httpx
import pytest
from sqlalchemy import select

from bot.service import Service
from crm_core.audit import AuditEntry
from crm_core.staff import Role
from tests import factories as f
from tests.fakes.wecom_crypto import CallbackClient, parse_xml
from tests.fakes.wecom_server import FakeWeCom
from tests.running import running
from tests.test_chat import SNAP_AT

TOKEN, AES_KEY, CORP = "brokerbotToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwfakecorp0001"


@pytest.fixture
def wecom():
    with FakeWeCom(corp_id=CORP, users={"wangfang", "liuyang", "nobody"}) as fake:
        yield fake


@pytest.fixture
def service(app, session, wecom):
    m1 = f.staff(session, "wangfang", "王芳", Role.manager, wecom_userid="wangfang")
    f.staff(session, "liuyang", "刘洋", Role.manager, wecom_userid="liuyang")
    f.client(session, "张三", m1, ["90012345"])
    f.snapshot(session, "90012345", SNAP_AT, "1425363.60", "751468.00")
    session.commit()
    s = app.settings
    s.wecom_corp_id, s.wecom_secret, s.wecom_agent_id = CORP, wecom.secret, str(wecom.agent_id)
    s.wecom_token, s.wecom_aes_key, s.wecom_api_base = TOKEN, AES_KEY, wecom.base_url
    return Service(app)


@pytest.fixture
def wx():
    return CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP)


def post(base, wx, body_and_query):
    query, body = body_and_query
    started = time.monotonic()
    answer = httpx.post(f"{base}/wecom/callback", params=query, content=body.encode(), timeout=10)
    return answer, time.monotonic() - started


def test_url_check_echoes_and_a_forged_signature_is_refused(service, wx):
    with running(service) as base:
        params = wx.verify_url_params("1234567890")
        assert httpx.get(f"{base}/wecom/callback", params=params).text == "1234567890"
        params["msg_signature"] = "0" * 40
        assert httpx.get(f"{base}/wecom/callback", params=params).status_code == 403
        query, body = wx.text("wangfang", "张三的保证金还够吗", msg_id=1)
        query["msg_signature"] = "f" * 40
        assert httpx.post(f"{base}/wecom/callback", params=query, content=body.encode()).status_code == 403


def test_a_margin_question_is_acked_in_time_answered_once_however_often_wecom_retries(service, wx, wecom):
    with running(service) as base:
        envelope = wx.text("wangfang", "张三的保证金还够吗", msg_id=7001)
        answers = [post(base, wx, envelope) for _ in range(4)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not wecom.sent:
            time.sleep(0.05)
    assert all(a.status_code == 200 and took < 1.0 for a, took in answers)
    passive = [parse_xml(wx.open_reply(a.content))["Content"] for a, _ in answers if a.content]
    pushed = [m["text"]["content"] for m in wecom.received("wangfang")]
    figures = passive + pushed
    assert len(figures) == 1 and "客户权益：1,425,363.60" in figures[0]


def test_an_unknown_user_learns_nothing_and_is_audited(service, wx, wecom, session):
    with running(service) as base:
        answer, _ = post(base, wx, wx.text("nobody", "张三的保证金还够吗", msg_id=7002))
        time.sleep(0.5)
    texts = ([parse_xml(wx.open_reply(answer.content))["Content"]] if answer.content else []) + \
        [m["text"]["content"] for m in wecom.received("nobody")]
    assert texts and "1,425,363.60" not in " ".join(texts) and "登记用户" in texts[0]
    session.expire_all()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied")) is not None
