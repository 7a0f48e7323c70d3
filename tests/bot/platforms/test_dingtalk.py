"""A manager talks to brokerbot in DingTalk: the real service, HTTP-mode callbacks signed as DingTalk
signs them, Stream mode through the real dingtalk-stream SDK and a fake gateway, and DingTalk's
OpenAPI, sessionWebhooks and cards played by a fake server (tests/fakes/dingtalk_*.py).

Leaving `running(...)` stops the service, which finishes the work it had taken, so what the fake
received afterwards is all there will be."""
import json
import time

import httpx
import pytest
from sqlalchemy import select

from bot.service import Service
from crm_core.audit import AuditEntry
from crm_core.outbox import OutboxMessage
from crm_core.staff import Role
from messaging.replies import Choice, Reply
from notifiers.dingtalk import DingTalkSender
from notifiers.outbox import DeliveryError, enqueue
from tests import factories as f
from tests.fakes import dingtalk_sign
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.fakes.dingtalk_stream_gateway import BOT_TOPIC, StreamGateway
from tests.running import running
from tests.worlds import SNAP_AT

FIGURES = "客户权益：1,425,363.60"


@pytest.fixture
def fake():
    with FakeDingTalk() as server:
        yield server


@pytest.fixture
def data(session):
    m1 = f.staff(session, "wangfang", "王芳", Role.manager, dingtalk_userid="manager001")
    f.client(session, "张三", m1, ["90012345"])
    f.client(session, "张伟", m1, ["90020001"])
    f.client(session, "张伟", m1, ["90020002"])
    f.snapshot(session, "90012345", SNAP_AT, "1425363.60", "751468.00")
    session.commit()


def service_for(app, fake, mode: str) -> Service:
    s = app.settings
    s.dingtalk_client_id, s.dingtalk_client_secret = fake.app_key, fake.app_secret
    s.dingtalk_api_base, s.dingtalk_mode = fake.base_url, mode
    return Service(app)


@pytest.fixture
def http_service(app, data, fake):
    return service_for(app, fake, "http")


@pytest.fixture
def stream_service(app, data, fake):
    return service_for(app, fake, "stream")


def post(base, signed):
    return httpx.post(f"{base}/dingtalk/callback", content=signed.body, headers=signed.headers, timeout=10)


def wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def session_texts(fake):
    return [m["text"]["content"] for m in fake.session_messages]


def robot_texts(fake, user="manager001"):
    return [m["msgParam"]["content"] for m in fake.robot_messages if m.get("userIds") == [user]]


# -- HTTP mode -----------------------------------------------------------------------------------
def test_a_signed_question_is_answered_once_through_its_session_webhook(http_service, fake):
    signed = dingtalk_sign.signed_callback(fake.app_secret, fake.bot_message("张三的保证金还够吗"))
    with running(http_service) as base:
        answers = [post(base, signed) for _ in range(3)]  # DingTalk delivering the same msgId again
        assert wait_for(lambda: fake.session_messages)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(fake.session_messages) == 1 and FIGURES in session_texts(fake)[0]
    assert not fake.robot_messages and fake.token_requests == 0  # the sessionWebhook needs no token


def test_a_forged_or_stale_signature_is_refused_and_answered_never(http_service, fake):
    message = fake.bot_message("张三的保证金还够吗")
    forged = dingtalk_sign.signed_callback("not-the-app-secret", message)
    stale = dingtalk_sign.signed_callback(fake.app_secret, message, timestamp_ms=fake.now_ms() - 3_600_001)
    unsigned = dingtalk_sign.signed_callback(fake.app_secret, message)
    unsigned.headers.pop("sign")
    with running(http_service) as base:
        assert [post(base, r).status_code for r in (forged, stale, unsigned)] == [401, 401, 401]
    assert not fake.session_messages and not fake.robot_messages


def test_a_refused_delivery_does_not_use_up_the_message(http_service, fake):
    message = fake.bot_message("张三的保证金还够吗")
    with running(http_service) as base:
        assert post(base, dingtalk_sign.signed_callback("forged", message)).status_code == 401
        assert post(base, dingtalk_sign.signed_callback(fake.app_secret, message)).status_code == 200
        assert wait_for(lambda: fake.session_messages)
    assert len(fake.session_messages) == 1 and FIGURES in session_texts(fake)[0]


def test_an_expired_session_webhook_falls_back_to_the_openapi(http_service, fake):
    expired = fake.bot_message("张三的保证金还够吗", ttl_seconds=-1)  # the callback says it has expired
    refused = fake.bot_message("张三的保证金还够吗")  # looks valid, DingTalk says it expired
    fake.sessions = dict.fromkeys(fake.sessions, 0.0)
    with running(http_service) as base:
        for message in (expired, refused):
            assert post(base, dingtalk_sign.signed_callback(fake.app_secret, message)).status_code == 200
        assert wait_for(lambda: len(fake.robot_messages) == 2)
    texts = robot_texts(fake)
    assert len(texts) == 2 and all(FIGURES in t for t in texts)
    assert not fake.session_messages
    assert fake.token_requests == 1  # the token is kept in the database and shared


def test_an_expired_token_mid_run_costs_one_new_token(http_service, fake):
    with running(http_service) as base:
        post(base, dingtalk_sign.signed_callback(fake.app_secret, fake.bot_message("张三的保证金", ttl_seconds=-1)))
        assert wait_for(lambda: len(fake.robot_messages) == 1)
        fake.expire_tokens()
        post(base, dingtalk_sign.signed_callback(fake.app_secret, fake.bot_message("张三的持仓", ttl_seconds=-1)))
        assert wait_for(lambda: len(fake.robot_messages) == 2)
    assert fake.token_requests == 2
    refused = [r for r in fake.requests if (r.response or {}).get("code") == "InvalidAuthentication"]
    assert len(refused) == 1


def test_an_unknown_user_gets_the_polite_refusal_only(http_service, fake, session):
    message = fake.bot_message("张三的保证金还够吗", sender_staff_id="stranger01")
    with running(http_service) as base:
        post(base, dingtalk_sign.signed_callback(fake.app_secret, message))
        assert wait_for(lambda: fake.session_messages)
    [text] = session_texts(fake)
    assert "登记用户" in text and "1,425,363.60" not in text and not fake.robot_messages
    session.expire_all()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied")) is not None


def test_figures_asked_in_a_group_go_to_the_askers_direct_chat(http_service, fake):
    message = fake.bot_message("张三的保证金还够吗", conversation_type="2")
    with running(http_service) as base:
        post(base, dingtalk_sign.signed_callback(fake.app_secret, message))
        assert wait_for(lambda: fake.session_messages and fake.robot_messages)
    [direct] = robot_texts(fake)
    [in_group] = session_texts(fake)  # the group's sessionWebhook posts in the group
    assert FIGURES in direct
    assert "私信" in in_group and "1,425,363.60" not in in_group


def test_the_kpi_report_asked_in_a_group_posts_only_the_note_there(http_service, fake):
    message = fake.bot_message("我这个月的业绩", conversation_type="2")
    with running(http_service) as base:
        post(base, dingtalk_sign.signed_callback(fake.app_secret, message))
        assert wait_for(lambda: fake.session_messages and fake.robot_messages)
    [direct] = robot_texts(fake)
    assert session_texts(fake) == ["客户数据不在群里发，已私信回复您。"]
    assert "客户权益合计：1,425,363.60" in direct


def test_choices_are_numbered_text_in_http_mode(http_service, fake):
    """Card clicks come over Stream only, so in HTTP mode a choice is answered by its number."""
    with running(http_service) as base:
        post(base, dingtalk_sign.signed_callback(fake.app_secret, fake.bot_message("张伟的保证金")))
        assert wait_for(lambda: fake.session_messages)
        post(base, dingtalk_sign.signed_callback(fake.app_secret, fake.bot_message("2")))
        assert wait_for(lambda: len(fake.session_messages) == 2)
    first, second = session_texts(fake)
    assert "90020001" in first and "90020002" in first and not fake.cards
    assert "90020002" in second


def test_a_replay_pointing_at_an_outsiders_webhook_posts_nothing_there(http_service, fake):
    """A captured header pair (the sign covers only the timestamp) replayed with a manager's staff
    id and the attacker's sessionWebhook: the figures go to the manager's own chat, not there."""
    with FakeDingTalk() as attacker:
        message = fake.bot_message("张三的保证金还够吗")
        message["sessionWebhook"] = attacker.new_session()[0]
        with running(http_service) as base:
            assert post(base, dingtalk_sign.signed_callback(fake.app_secret, message)).status_code == 200
            assert wait_for(lambda: fake.robot_messages)
            time.sleep(0.3)
        assert not attacker.session_messages and not attacker.requests
    [direct] = robot_texts(fake)
    assert FIGURES in direct and not fake.session_messages


def test_a_message_signed_again_later_is_still_answered_once(http_service, fake):
    message = fake.bot_message("张三的保证金还够吗")
    later = fake.now_ms() + 60_000  # the same msgId under a newer header pair
    with running(http_service) as base:
        firsts = [post(base, dingtalk_sign.signed_callback(fake.app_secret, message, timestamp_ms=t))
                  for t in (fake.now_ms(), later)]
        assert wait_for(lambda: fake.session_messages)
    assert [a.status_code for a in firsts] == [200, 200]
    assert len(fake.session_messages) == 1


@pytest.mark.parametrize("body", [b"[" * 50_000, b"[" * 100_000, b'{"a": ' * 20_000, b"\xff\xfe{", b"1e999999"],
                         ids=["deep-list", "100k-brackets", "deep-object", "not-utf8", "a-number"])
def test_a_signed_body_that_is_not_a_message_gets_a_4xx(http_service, fake, body):
    signed = dingtalk_sign.signed_callback(fake.app_secret, {})
    with running(http_service) as base:
        answer = httpx.post(f"{base}/dingtalk/callback", content=body, headers=signed.headers, timeout=10)
    assert 400 <= answer.status_code < 500
    assert not fake.session_messages and not fake.robot_messages


def test_a_signed_message_with_fields_of_the_wrong_type_is_ignored(http_service, fake, caplog):
    message = fake.bot_message("张三的保证金还够吗")
    message.update(senderStaffId={"id": "manager001"}, msgId=["x"], sessionWebhookExpiredTime="soon")
    wrong_text = fake.bot_message("张三的保证金还够吗", msg_id="m-wrong-text")
    wrong_text["text"] = ["张三"]
    with running(http_service) as base:
        answers = [post(base, dingtalk_sign.signed_callback(fake.app_secret, m)) for m in (message, wrong_text)]
        time.sleep(0.5)
    assert [a.status_code for a in answers] == [200, 200]
    assert "failed" not in caplog.text
    assert not fake.robot_messages and not any(FIGURES in t for t in session_texts(fake))


# -- Stream mode ---------------------------------------------------------------------------------
def test_a_stream_message_is_acked_and_answered_once(stream_service, fake):
    with StreamGateway(fake) as gateway, running(stream_service):
        assert gateway.wait_connected()
        frame = gateway.frame("CALLBACK", BOT_TOPIC, fake.bot_message("张三的保证金还够吗"))
        message_id = gateway.push(frame)
        gateway.push(frame)  # the gateway redelivering it
        assert gateway.wait_ack(message_id)["code"] == 200
        assert wait_for(lambda: fake.session_messages)
        subscribed = {s["topic"] for s in gateway.opens[0]["subscriptions"]}
    assert subscribed == {BOT_TOPIC, "/v1.0/card/instances/callback"}
    assert len(fake.session_messages) == 1 and FIGURES in session_texts(fake)[0]


def test_a_choice_is_a_card_whose_click_answers_and_updates_it(stream_service, fake):
    with StreamGateway(fake) as gateway, running(stream_service):
        assert gateway.wait_connected()
        gateway.push_bot_message(fake.bot_message("张伟的保证金"))
        assert wait_for(lambda: fake.cards)
        [(track, card)] = fake.cards.items()
        buttons = json.loads(card["cardData"]["cardParamMap"]["sys_full_json_obj"])["msgButtons"]
        intruder = gateway.push_card_click(track, "manager002", {"value": "1"})  # not the one who asked
        assert gateway.wait_ack(intruder)["code"] == 200
        click = gateway.push_card_click(track, "manager001", {"value": buttons[1]["params"]["value"]})
        assert gateway.wait_ack(click)["code"] == 200
        assert wait_for(lambda: fake.session_messages and fake.card_updates)
        gateway.push_card_click(track, "manager001", {"value": "1"})  # a second click: the card is done
    assert card["callbackType"] == "STREAM" and card["openSpaceId"] == "dtv1.card//IM_ROBOT.manager001"
    assert [b["params"]["value"] for b in buttons] == ["1", "2"] and all(b["request"] for b in buttons)
    [answer] = session_texts(fake)
    assert "90020002" in answer and "90020001" not in answer
    shown = fake.cards[track]["cardData"]["cardParamMap"]
    assert json.loads(shown["sys_full_json_obj"])["msgButtons"] == [] and "已选择" in shown["markdown"]
    assert len(fake.card_updates) == 1


def test_a_card_queued_elsewhere_is_updated_after_its_click(stream_service, fake, app):
    """An approval or a reminder with choices is queued by other code; its click still works."""
    confirm = Reply("确认给张三开户吗？", choices=[Choice("确认", "确认"), Choice("取消", "取消")])
    with StreamGateway(fake) as gateway, running(stream_service):
        assert gateway.wait_connected()
        with app.db.transaction() as session:
            enqueue(session=session, channel="dingtalk", target="manager001", reply=confirm, purpose="approval")
        stream_service.dispatcher.run_once()
        [track] = fake.cards
        assert gateway.wait_ack(gateway.push_card_click(track, "manager001", {"value": "取消"}))
        assert wait_for(lambda: fake.card_updates and fake.robot_messages)
    buttons = json.loads(fake.card_updates[0]["cardData"]["cardParamMap"]["sys_full_json_obj"])["msgButtons"]
    assert buttons == [] and "已选择：取消" in fake.cards[track]["cardData"]["cardParamMap"]["markdown"]
    assert len(robot_texts(fake)) == 1  # the answer to 取消, in the direct chat


# -- the sender alone ----------------------------------------------------------------------------
BATCH = "/v1.0/robot/oToMessages/batchSend"
TEXT = {"text": "保证金充足", "title": None, "choices": []}


def sender_for(app, fake, **overrides) -> DingTalkSender:
    options = dict(api_base=fake.base_url, client_id=fake.app_key, client_secret=fake.app_secret,
                   robot_code=fake.robot_code)
    return DingTalkSender(app.db, **{**options, **overrides})


def failure(sender) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        sender.send("manager001", TEXT)
    return caught.value


def test_throttling_and_outages_are_retried_bad_requests_are_not(app, fake):
    sender = sender_for(app, fake)
    fake.fail_next(BATCH, 429, {"code": "Throttling.Api", "message": "请求过于频繁"}, {"Retry-After": "7"})
    throttled = failure(sender)
    assert throttled.transient and throttled.retry_after == 7
    fake.fail_next(BATCH, 503, {"code": "ServiceUnavailable", "message": "系统繁忙"})
    assert failure(sender).transient
    fake.fail_next(BATCH, 200, {"processQueryKey": "k", "invalidStaffIdList": [],
                                "flowControlledStaffIdList": ["manager001"]})
    assert failure(sender).transient
    assert not failure(sender_for(app, fake, robot_code="not-our-robot")).transient  # 400 invalidParameter
    fake.fail_next(BATCH, 200, {"processQueryKey": "k", "invalidStaffIdList": ["manager001"],
                                "flowControlledStaffIdList": []})
    assert not failure(sender).transient
    assert sender.send("manager001", TEXT) and fake.token_requests == 1
    sender.close()


def test_a_token_refused_again_after_renewal_is_not_renewed_in_a_loop(app, fake):
    sender = sender_for(app, fake)
    refused = (400, {"code": "InvalidAuthentication", "message": "不合法的access_token"})
    for _ in range(5):
        fake.fail_next(BATCH, *refused)
    assert not failure(sender).transient
    assert fake.token_requests == 2 and len([r for r in fake.requests if r.path == BATCH]) == 2
    sender.close()


def test_a_wrong_secret_fails_for_good_after_one_token_request(app, fake):
    sender = sender_for(app, fake, client_secret="wrong")
    assert not failure(sender).transient and fake.token_requests == 1
    sender.close()


# -- issue 10: an approval card clicked by someone who may not decide it stays for its approver ----
def sent_card(app, track: str) -> bool:
    with app.db.session() as session:
        return session.scalar(select(OutboxMessage.id).where(OutboxMessage.platform_message_id == track)) is not None


@pytest.fixture
def approvals(session):
    one, two = f.team(session, "一组"), f.team(session, "二组")
    sup = f.staff(session, "zhousup", "周主管", Role.supervisor, one, dingtalk_userid="sup001")
    liu = f.staff(session, "liuyang", "刘洋", Role.manager, one, sup, dingtalk_userid="manager002")
    f.staff(session, "lijun", "李军", Role.manager, two, dingtalk_userid="manager003")
    f.client(session, "李四", liu, ["90030001"])
    session.commit()


def test_an_approval_card_clicked_by_a_stranger_stays_and_the_approvers_click_decides(stream_service, fake,
                                                                                      approvals, app):
    with StreamGateway(fake) as gateway, running(stream_service):
        assert gateway.wait_connected()
        gateway.push_bot_message(fake.bot_message("帮李四申请手续费优惠，按交易所1.2倍", sender_staff_id="manager002"))
        assert wait_for(lambda: fake.cards)
        [(track, card)] = fake.cards.items()
        [approve, _] = json.loads(card["cardData"]["cardParamMap"]["sys_full_json_obj"])["msgButtons"]
        value = approve["params"]["value"]
        assert wait_for(lambda: sent_card(app, track))  # the outbox has recorded the card as sent
        stranger = gateway.push_card_click(track, "manager003", {"value": value})
        assert gateway.wait_ack(stranger)["code"] == 200
        gateway.push(next(f for f in gateway.sent if f["headers"]["messageId"] == stranger))  # redelivered
        assert wait_for(lambda: robot_texts(fake, "manager003"))
        time.sleep(0.3)
        assert fake.card_updates == [] and len(robot_texts(fake, "manager003")) == 1
        for _ in range(2):  # the approver's click, and a second tap on it
            gateway.push_card_click(track, "sup001", {"value": value})
        assert wait_for(lambda: robot_texts(fake, "sup001") and fake.card_updates
                        and [t for t in robot_texts(fake, "manager002") if "批准" in t])
    assert robot_texts(fake, "manager003") == ["没有找到您可审批的申请 #1。"]
    assert card["openSpaceId"] == "dtv1.card//IM_ROBOT.sup001"
    [decided] = robot_texts(fake, "sup001")
    assert "已同意 #1" in decided and "已生效" in decided
    [update] = fake.card_updates
    shown = fake.cards[track]["cardData"]["cardParamMap"]
    assert json.loads(shown["sys_full_json_obj"])["msgButtons"] == [] and "已选择：同意" in shown["markdown"]
    [told] = [t for t in robot_texts(fake, "manager002") if "批准" in t]
    assert "周主管" in told
