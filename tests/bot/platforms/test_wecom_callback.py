"""A manager talks to brokerbot in WeCom: the real service over HTTP, WeCom's encryption and
signatures played by an independent implementation, WeCom's API by a fake server. Choices and
confirmations come as button cards; a click answers once and turns the buttons into the choice."""
import json
import logging
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.platforms.wecom.adapter import REPLAY_WINDOW
from bot.service import Service
from crm_core.audit import AuditEntry
from crm_core.base import utcnow
from crm_core.clients import Client
from crm_core.inbox import InboundMessage
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.staff import Role
from messaging.replies import Choice, Reply
from notifiers.outbox import Dispatcher
from notifiers.wecom import WeComClient, enqueue_reply
from tests import factories as f
from tests.fakes.wecom_crypto import CallbackClient, parse_xml
from tests.fakes.wecom_crypto import signature as wecom_signature
from tests.fakes.wecom_server import FakeWeCom
from tests.running import running
from tests.worlds import SNAP_AT

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
    f.client(session, "张伟", m1, ["90020001"])
    f.client(session, "张伟", m1, ["90020002"])
    f.snapshot(session, "90020002", SNAP_AT, "520000.00", "130000.00")
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


def wait_until(check, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def cards(wecom, user: str) -> list[dict]:
    return [m["template_card"] for m in wecom.received(user) if m["msgtype"] == "template_card"]


def texts(wecom, user: str) -> list[str]:
    return [m["text"]["content"] for m in wecom.received(user) if m["msgtype"] == "text"]


def click(base, wx, card: dict, key: str, response_code: str, create_time: int, times: int = 1):
    """The same click, delivered `times` times (WeCom retries with the same CreateTime)."""
    for _ in range(times):
        envelope = wx.card_click("wangfang", event_key=key, task_id=card["task_id"], response_code=response_code,
                                 create_time=create_time)
        answer, _ = post(base, wx, envelope)
        assert answer.status_code == 200 and not answer.content  # the answer follows as an app message


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


def test_two_clients_of_one_name_come_as_a_card_and_a_click_answers_once(service, wx, wecom):
    with running(service) as base:
        answer, _ = post(base, wx, wx.text("wangfang", "张伟的保证金还够吗", msg_id=7101))
        assert answer.status_code == 200 and not answer.content
        [card] = wait_until(lambda: cards(wecom, "wangfang"))
        assert card["card_type"] == "button_interaction" and card["task_id"]
        assert [b["key"] for b in card["button_list"]] == ["1", "2"]
        assert "张伟" in card["main_title"]["title"]
        assert "90020001" in card["sub_title_text"] and "90020002" in card["sub_title_text"]
        code = wecom.new_response_code()
        click(base, wx, card, "2", code, int(time.time()), times=3)
        wait_until(lambda: texts(wecom, "wangfang"))
    [figures] = texts(wecom, "wangfang")
    assert "客户权益：520,000.00" in figures and "1,425,363.60" not in figures
    [update] = wecom.card_updates
    assert update["response_code"] == code and update["userids"] == ["wangfang"]
    assert update["button"]["replace_name"].startswith("已选择：2. 张伟")
    assert len(cards(wecom, "wangfang")) == 1


def test_an_uncertain_write_comes_as_a_confirm_card_and_the_click_writes_once(service, wx, wecom, session):
    with running(service) as base:
        post(base, wx, wx.text("wangfang", "新客户王大锤，电话13800001111，对原油期权感兴趣", msg_id=7201))
        [card] = wait_until(lambda: cards(wecom, "wangfang"))
        assert [(b["text"], b["key"]) for b in card["button_list"]] == [("确认", "确认"), ("取消", "取消")]
        shown = card["main_title"]["title"] + card.get("sub_title_text", "")
        assert "请确认" in shown and "138****1111" in shown and "13800001111" not in json.dumps(card)
        now = int(time.time())
        click(base, wx, card, "确认", wecom.new_response_code(), now, times=3)
        click(base, wx, card, "确认", wecom.new_response_code(), now + 1)  # a second tap before the update
        wait_until(lambda: texts(wecom, "wangfang"))
    [done] = texts(wecom, "wangfang")
    assert "已登记线索：王大锤" in done
    session.expire_all()
    assert len(session.scalars(select(Client).where(Client.name == "王大锤")).all()) == 1
    assert [u["button"]["replace_name"] for u in wecom.card_updates] == ["已选择：确认"]


def test_a_click_on_an_older_card_is_refused_and_the_newest_card_works(service, wx, wecom):
    with running(service) as base:
        post(base, wx, wx.text("wangfang", "张伟的保证金还够吗", msg_id=7301))
        wait_until(lambda: cards(wecom, "wangfang"))
        post(base, wx, wx.text("wangfang", "张伟的持仓", msg_id=7302))
        old, new = wait_until(lambda: cards(wecom, "wangfang")[1:] and cards(wecom, "wangfang"))
        click(base, wx, old, "2", wecom.new_response_code(), int(time.time()))
        [stale] = wait_until(lambda: texts(wecom, "wangfang"))
        click(base, wx, new, "2", wecom.new_response_code(), int(time.time()) + 1)
        wait_until(lambda: texts(wecom, "wangfang")[1:])
    assert "已过期" in stale and "90020002" not in stale
    assert "90020002" in texts(wecom, "wangfang")[1]
    stale_update, chosen = [u["button"]["replace_name"] for u in wecom.card_updates]
    assert stale_update == "已过期" and chosen.startswith("已选择：2. 张伟")


def test_a_used_response_code_is_logged_once_and_the_answer_still_comes(service, wx, wecom, caplog):
    caplog.set_level(logging.WARNING, logger="brokerbot.wecom")
    with running(service) as base:
        post(base, wx, wx.text("wangfang", "张伟的保证金还够吗", msg_id=7401))
        [card] = wait_until(lambda: cards(wecom, "wangfang"))
        click(base, wx, card, "1", "a-code-wecom-never-issued", int(time.time()))
        [answer] = wait_until(lambda: texts(wecom, "wangfang"))
    assert "90020001" in answer
    assert wecom.count("/cgi-bin/message/update_template_card") == 1 and wecom.card_updates == []
    assert [r for r in caplog.records if "not updated" in r.getMessage()]


@pytest.mark.parametrize("failure", ["late", "timeout"])
def test_a_card_whose_send_timed_out_reaches_the_person_once(app, failure):
    """"late": WeCom did send the card but answered after our timeout; "timeout": it did nothing."""
    choices = [Choice("张伟（账户 90020001）", "1"), Choice("张伟（账户 90020002）", "2")]
    reply = Reply("有 2 位客户符合“张伟”，请回复序号：\n1. 张伟（账户 90020001）\n2. 张伟（账户 90020002）",
                  choices=choices)
    with FakeWeCom(corp_id=CORP, users={"wangfang"}, timeout_delay=0.6) as fake:
        client = WeComClient(app.db, api_base=fake.base_url, corp_id=CORP, secret=fake.secret,
                             agent_id=str(fake.agent_id), timeout=0.3)
        with app.db.transaction() as session:
            enqueue_reply(session=session, target="wangfang", reply=reply)
        fake.fail_next(failure)
        dispatcher = Dispatcher(app.db, {"wecom": client})
        assert dispatcher.run_once() == 0
        if failure == "late":
            wait_until(lambda: fake.sent)
        assert dispatcher.run_once(now=utcnow() + timedelta(minutes=5)) == 1
        client.close()
    assert len(fake.sent) == 1 and fake.sent[0].msgtype == "template_card"
    assert fake.count("/cgi-bin/message/send") == 2
    with app.db.session() as session:
        assert session.scalar(select(OutboxMessage.status)) == OutboxStatus.delivered


# -- outsiders and malformed signed input (issue 12) -------------------------------------------
def inbound_rows(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(InboundMessage))


def test_stale_future_and_week_old_replayed_callbacks_are_refused_with_nothing_written(service, wx, wecom, session):
    now = int(time.time())
    stale = wx.text("wangfang", "张三的保证金还够吗", msg_id=8001, timestamp=now - REPLAY_WINDOW - 5)
    future = wx.text("wangfang", "张三的保证金还够吗", msg_id=8002, timestamp=now + REPLAY_WINDOW + 5)
    # Captured eight days ago: its MsgId has left the inbox (kept a week), only the timestamp refuses it.
    week_old = wx.text("wangfang", "张三的保证金还够吗", msg_id=8003, timestamp=now - 8 * 86400)
    with running(service) as base:
        answers = [post(base, wx, envelope)[0] for envelope in (stale, future, week_old)]
        stale_check = httpx.get(f"{base}/wecom/callback", params=wx.verify_url_params("42", timestamp=now - 3600))
        time.sleep(0.5)
    assert [a.status_code for a in answers] == [403, 403, 403] and not any(a.content.startswith(b"<xml") for a in answers)
    assert stale_check.status_code == 403
    assert not wecom.sent and inbound_rows(session) == 0


def test_a_10_mb_unsigned_xml_body_is_refused_unread_and_healthz_stays_quick(service):
    nested = b"<xml>" + b"<a>" * 2_000_000 + b"</a>" * 1_500_000
    with running(service) as base:
        outcome = {}

        def attack():
            try:
                outcome["status"] = httpx.post(f"{base}/wecom/callback", params={"msg_signature": "0" * 40,
                                               "timestamp": str(int(time.time())), "nonce": "1"},
                                               content=nested, timeout=30).status_code
            except httpx.HTTPError as exc:  # the service may close the connection on a body it will not read
                outcome["status"] = type(exc).__name__
        thread = threading.Thread(target=attack)
        thread.start()
        latencies = []
        with httpx.Client(base_url=base, timeout=5) as probe:  # one connection, as a load balancer keeps
            probe.get("/healthz")  # connected: what is timed below is the answer
            while not latencies or thread.is_alive():
                started = time.monotonic()
                assert probe.get("/healthz").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)
        thread.join()
    assert outcome["status"] in (413, "WriteError", "RemoteProtocolError", "ReadError")
    assert max(latencies) < 0.1, latencies


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                  + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
                  + ']><xml><MsgType>text</MsgType><FromUserName>wangfang</FromUserName><MsgId>1</MsgId>'
                  '<Content>&i;</Content></xml>')


@pytest.mark.parametrize("inner", [
    "<xml><FromUserName>wangfang</FromUserName><Content>张三</Content><MsgId>8101</MsgId></xml>",  # no MsgType
    "<xml><MsgType>text</MsgType><FromUserName>wangf",  # truncated
    BILLION_LAUGHS,
    "not xml at all",
    "<other><MsgType>text</MsgType></other>",
], ids=["no-msgtype", "truncated", "entities", "not-xml", "other-root"])
def test_signed_but_malformed_messages_get_a_400_and_no_answer(service, wx, wecom, session, inner):
    with running(service) as base:
        answer, _ = post(base, wx, wx.envelope(inner))
        time.sleep(0.3)
    assert answer.status_code == 400
    assert not wecom.sent and inbound_rows(session) == 0


def test_a_signed_url_check_whose_echostr_is_not_ours_gets_a_400(service):
    timestamp, nonce = str(int(time.time())), "123"
    with running(service) as base:
        answers = []
        for echostr in ("not base64!", "QUJD", "A" * 64):  # not base64; too short to decrypt; wrong padding
            params = {"msg_signature": wecom_signature(TOKEN, timestamp, nonce, echostr), "timestamp": timestamp,
                      "nonce": nonce, "echostr": echostr}
            answers.append(httpx.get(f"{base}/wecom/callback", params=params).status_code)
    assert answers == [400, 400, 400]
