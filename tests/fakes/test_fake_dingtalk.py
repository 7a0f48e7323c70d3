"""The fake DingTalk answers as the real OpenAPI and robot webhooks do (see tests/fakes/dingtalk_server.py)."""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request

import dingtalk_stream as ds
import pytest

from tests.fakes import dingtalk_sign
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.fakes.dingtalk_stream_gateway import BOT_TOPIC, StreamGateway


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(url: str, body: dict | None = None, *, token: str | None = None, method: str = "POST") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["x-acs-dingtalk-access-token"] = token
    request = urllib.request.Request(url, json.dumps(body or {}).encode(), headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def token_of(fake: FakeDingTalk) -> str:
    status, body = call(f"{fake.base_url}/v1.0/oauth2/accessToken",
                        {"appKey": fake.app_key, "appSecret": fake.app_secret})
    assert status == 200 and body["expireIn"] == 7200
    return body["accessToken"]


def test_access_token_wrong_secret_and_expiry():
    with FakeDingTalk() as fake:
        status, body = call(f"{fake.base_url}/v1.0/oauth2/accessToken", {"appKey": fake.app_key, "appSecret": "x"})
        assert status == 400 and body["code"] == "invalidClientIdOrSecret" and body["message"]
        token = token_of(fake)
        send = {"robotCode": fake.robot_code, "userIds": ["manager001"], "msgKey": "sampleText",
                "msgParam": json.dumps({"content": "保证金充足"}, ensure_ascii=False)}
        url = f"{fake.base_url}/v1.0/robot/oToMessages/batchSend"
        status, body = call(url, send, token=token)
        assert status == 200 and body["processQueryKey"]
        assert fake.robot_messages[0]["msgParam"] == {"content": "保证金充足"}
        fake.expire_tokens()
        status, body = call(url, send, token=token)
        assert status == 400 and body["code"] == "InvalidAuthentication"
        assert call(url, send)[1]["code"] == "AuthenticationFailed.MissingParameter"
        assert call(url, send, token=token_of(fake))[0] == 200
        assert fake.token_requests == 3 and len(fake.robot_messages) == 2


def test_token_expires_on_the_clock():
    clock = Clock()
    with FakeDingTalk(clock=clock) as fake:
        token = token_of(fake)
        clock.now += 7201
        status, body = call(f"{fake.base_url}/v1.0/robot/groupMessages/send", {}, token=token)
        assert status == 400 and body["code"] == "InvalidAuthentication"


def test_interactive_card_create_and_update():
    with FakeDingTalk() as fake:
        token = token_of(fake)
        card = {"cardTemplateId": "tpl.schema", "outTrackId": "card-1", "callbackType": "STREAM",
                "cardData": {"cardParamMap": {"status": "pending"}}, "openSpaceId": "dtv1.card//IM_ROBOT.manager001",
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"}}
        status, body = call(f"{fake.base_url}/v1.0/card/instances/createAndDeliver", card, token=token)
        assert status == 200 and body["result"]["deliverResults"][0]["spaceId"] == "manager001"
        update = {"outTrackId": "card-1", "cardData": {"cardParamMap": {"status": "approved"}}}
        assert call(f"{fake.base_url}/v1.0/card/instances", update, token=token, method="PUT") == (
            200, {"success": True, "result": True})
        assert fake.cards["card-1"]["cardData"]["cardParamMap"]["status"] == "approved"
        missing = call(f"{fake.base_url}/v1.0/card/instances", {**update, "outTrackId": "nope"}, token=token,
                       method="PUT")
        assert missing[0] == 400


def test_session_webhook_expires():
    clock = Clock()
    with FakeDingTalk(clock=clock) as fake:
        message = fake.bot_message("老王的保证金还够吗", ttl_seconds=60)
        assert message["sessionWebhookExpiredTime"] == int((clock.now + 60) * 1000)
        reply = {"msgtype": "text", "text": {"content": "够"}}
        assert call(message["sessionWebhook"], reply) == (200, {"errcode": 0, "errmsg": "ok"})
        clock.now += 61
        status, body = call(message["sessionWebhook"], reply)
        assert status == 200 and body["errcode"] != 0
        assert len(fake.session_messages) == 1


def test_group_robot_webhook_signature_window_and_throttle():
    clock = Clock()
    with FakeDingTalk(clock=clock, webhooks={"tok": "SECfake"}) as fake:
        text = {"msgtype": "text", "text": {"content": "风险提示"}}
        now_ms = fake.now_ms()
        url = dingtalk_sign.signed_webhook_url(fake.base_url, "tok", "SECfake", now_ms)
        assert call(url, text)[1] == {"errcode": 0, "errmsg": "ok"}
        assert call(dingtalk_sign.signed_webhook_url(fake.base_url, "tok", "SECwrong", now_ms), text)[1] == {
            "errcode": 310000, "errmsg": "sign not match"}
        old = dingtalk_sign.signed_webhook_url(fake.base_url, "tok", "SECfake", now_ms - 3_600_001)
        assert call(old, text)[1]["errmsg"] == "invalid timestamp"
        assert call(dingtalk_sign.signed_webhook_url(fake.base_url, "nope", "SECfake", now_ms), text)[1][
            "errcode"] == 300005
        for _ in range(19):
            assert call(url, text)[1]["errcode"] == 0
        assert call(url, text)[1]["errcode"] == 660026  # the 21st within a minute
        clock.now += 61
        assert call(dingtalk_sign.signed_webhook_url(fake.base_url, "tok", "SECfake", fake.now_ms()), text)[1][
            "errcode"] == 660026  # still throttled: ten minutes
        clock.now += 600
        assert call(dingtalk_sign.signed_webhook_url(fake.base_url, "tok", "SECfake", fake.now_ms()), text)[1][
            "errcode"] == 0
        assert len(fake.webhook_messages) == 21


def test_http_mode_callback_is_signed_like_dingtalk():
    with FakeDingTalk() as fake:
        message = fake.bot_message("张三的持仓", conversation_type="2")
        signed = dingtalk_sign.signed_callback(fake.app_secret, message, timestamp_ms=1_700_000_000_000)
        assert signed.headers["sign"] == dingtalk_sign.sign(fake.app_secret, 1_700_000_000_000)
        assert dingtalk_sign.valid(fake.app_secret, signed.headers["timestamp"], signed.headers["sign"],
                                   1_700_000_000_000 + 3_599_000)
        assert not dingtalk_sign.valid(fake.app_secret, signed.headers["timestamp"], signed.headers["sign"],
                                       1_700_000_000_000 + 3_600_001)
        assert not dingtalk_sign.valid("other", signed.headers["timestamp"], signed.headers["sign"],
                                       1_700_000_000_000)
        body = signed.json()
        assert body["text"]["content"] == "张三的持仓" and body["conversationType"] == "2"
        assert body["robotCode"] == fake.robot_code and body["sessionWebhook"].startswith(fake.base_url)


# -- Stream mode: the real dingtalk-stream SDK against the fake gateway ------------------------------
@pytest.fixture
def stream_sdk(monkeypatch):
    """Runs DingTalkStreamClient against a fake: `start(fake, handler)` returns the client."""
    runs = []

    def start(fake, handler, topic=None):
        for module in (ds.stream, ds.chatbot, ds.card_replier):
            monkeypatch.setattr(module, "DINGTALK_OPENAPI_ENDPOINT", fake.base_url)
        monkeypatch.setattr(ds.DingTalkStreamClient, "OPEN_CONNECTION_API",
                            f"{fake.base_url}/v1.0/gateway/connections/open")
        client = ds.DingTalkStreamClient(ds.Credential(fake.app_key, fake.app_secret))
        client.register_callback_handler(topic or ds.ChatbotMessage.TOPIC, handler)
        loop = asyncio.new_event_loop()
        task = loop.create_task(client.start())
        thread = threading.Thread(target=loop.run_until_complete, args=(asyncio.wait([task]),), daemon=True)
        thread.start()
        runs.append((loop, task, thread))
        return client

    yield start
    for loop, task, thread in runs:
        while thread.is_alive():  # start() swallows one CancelledError, so cancel until it stops
            loop.call_soon_threadsafe(task.cancel)
            thread.join(0.05)
        leftovers = asyncio.all_tasks(loop)  # the SDK's keepalive pings
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.close()


def echo_handler(fail_first: bool = False):
    class Echo(ds.ChatbotHandler):
        seen: list = []

        async def process(self, callback):
            message = ds.ChatbotMessage.from_dict(callback.data)
            self.seen.append(message.message_id)
            if fail_first and len(self.seen) == 1:
                raise RuntimeError("crashed before the ack")
            self.reply_text(f"收到：{message.text.content}", message)
            return ds.AckMessage.STATUS_OK, "OK"

    return Echo()


def test_sdk_connects_receives_a_bot_message_and_acks(stream_sdk):
    with FakeDingTalk() as fake, StreamGateway(fake) as gateway:
        handler = echo_handler()
        stream_sdk(fake, handler)
        assert gateway.wait_connected()
        assert gateway.opens[0]["subscriptions"] == [{"type": "CALLBACK", "topic": BOT_TOPIC}]
        message = fake.bot_message("李四的保证金还够吗")
        message_id = gateway.push_bot_message(message)
        ack = gateway.wait_ack(message_id)
        assert ack["code"] == 200 and ack["headers"]["messageId"] == message_id
        assert handler.seen == [message["msgId"]]
        assert fake.session_messages[0]["text"]["content"] == "收到：李四的保证金还够吗"
        gateway.disconnect()  # the SDK opens a new connection
        assert gateway.wait(lambda: len(gateway.opens) == 2 and gateway.connections)


def test_unacked_message_is_redelivered(stream_sdk):
    with FakeDingTalk() as fake, StreamGateway(fake, ack_timeout=0.2) as gateway:
        handler = echo_handler(fail_first=True)
        stream_sdk(fake, handler)
        assert gateway.wait_connected()
        message = fake.bot_message("王五的持仓")
        message_id = gateway.push_bot_message(message)
        assert gateway.wait_ack(message_id)
        assert gateway.deliveries(message_id) == 2 and handler.seen == [message["msgId"]] * 2
        assert len(fake.session_messages) == 1


def test_wrong_credentials_get_no_ticket():
    with FakeDingTalk() as fake, StreamGateway(fake):
        status, body = call(f"{fake.base_url}/v1.0/gateway/connections/open",
                            {"clientId": fake.app_key, "clientSecret": "wrong", "subscriptions": []})
        assert status == 400 and "ticket" not in body


def test_sdk_card_delivered_clicked_and_updated(stream_sdk):
    clicks = []

    class Clicks(ds.CallbackHandler):
        async def process(self, callback):
            clicks.append(ds.CardCallbackMessage.from_dict(callback.data))
            return ds.AckMessage.STATUS_OK, {"cardData": {"cardParamMap": {"status": "done"}}}

    with FakeDingTalk() as fake, StreamGateway(fake) as gateway:
        client = stream_sdk(fake, Clicks(), topic=ds.Card_Callback_Router_Topic)
        assert gateway.wait_connected()
        incoming = ds.ChatbotMessage.from_dict(fake.bot_message("确认开户"))
        replier = ds.CardReplier(client, incoming)
        track = replier.create_and_deliver_card("tpl.confirm", {"status": "pending"}, callback_type="STREAM")
        assert fake.cards[track]["openSpaceId"] == "dtv1.card//IM_ROBOT.manager001"
        message_id = gateway.push_card_click(track, "manager001", {"choice": "approve"})
        ack = gateway.wait_ack(message_id)
        assert json.loads(ack["data"])["response"]["cardData"]["cardParamMap"]["status"] == "done"
        assert clicks[0].card_instance_id == track and clicks[0].content["cardPrivateData"]["params"] == {
            "choice": "approve"}
        replier.put_card_data(track, {"status": "approved"})
        assert fake.cards[track]["cardData"]["cardParamMap"]["status"] == "approved"
        assert fake.token_requests == 1
