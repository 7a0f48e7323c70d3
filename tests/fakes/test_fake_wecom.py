"""The fake WeCom speaks the protocol the adapter relies on; its crypto agrees with WeCom's own worked
example and with wechatpy; the cards the sender builds pass its checks of WeCom's card rules."""
from __future__ import annotations

import time

import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from notifiers.wecom import BUTTON_MAX, SUBTITLE_MAX, TITLE_MAX, new_task_id, template_card
from tests.fakes import wecom_crypto as wc
from tests.fakes.wecom_server import FakeWeCom

# The worked example in WeCom's official WXBizMsgCrypt sample code (Sample.cs / Sample.py of the
# libraries that the 加解密方案说明 page links to), as copies of that code carry it; read 2026.
# The decrypted echostr and message below were checked with wechatpy, not taken from the page.
OFFICIAL = dict(token="QDG6eK", key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corp_id="wx5823bf96d3bd56c7")
URL_CHECK = dict(msg_signature="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", timestamp="1409659589",
                 nonce="263014780",
                 echostr="P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")
MESSAGE = dict(msg_signature="477715d11cdb4164915debcba66cb864d751f3e6", timestamp="1409659813", nonce="1372623149")
ENCRYPT = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W"
           "/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kD"
           "Z+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6t"
           "iWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU"
           "9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")
POST_BODY = (f"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{ENCRYPT}]]>"
             f"</Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")


def test_official_vector_decrypts_with_ours_and_wechatpy():
    assert wc.signature(OFFICIAL["token"], URL_CHECK["timestamp"], URL_CHECK["nonce"],
                        URL_CHECK["echostr"]) == URL_CHECK["msg_signature"]
    assert wc.decrypt(OFFICIAL["key"], URL_CHECK["echostr"]) == ("1616140317555161061", OFFICIAL["corp_id"])
    assert wc.signature(OFFICIAL["token"], MESSAGE["timestamp"], MESSAGE["nonce"], ENCRYPT) == MESSAGE["msg_signature"]
    msg, receive_id = wc.decrypt(OFFICIAL["key"], ENCRYPT)
    assert receive_id == OFFICIAL["corp_id"]
    fields = wc.parse_xml(msg)
    assert fields["Content"] == "hello" and fields["MsgId"] == "4561255354251345929" and fields["AgentID"] == "218"

    theirs = WeChatCrypto(OFFICIAL["token"], OFFICIAL["key"], OFFICIAL["corp_id"])
    assert theirs.check_signature(URL_CHECK["msg_signature"], URL_CHECK["timestamp"], URL_CHECK["nonce"],
                                  URL_CHECK["echostr"]) == "1616140317555161061"
    assert theirs.decrypt_message(POST_BODY, MESSAGE["msg_signature"], MESSAGE["timestamp"], MESSAGE["nonce"]) == msg


def test_client_payloads_and_replies_agree_with_wechatpy():
    client = wc.CallbackClient(OFFICIAL["token"], OFFICIAL["key"], OFFICIAL["corp_id"], agent_id=218)
    theirs = WeChatCrypto(OFFICIAL["token"], OFFICIAL["key"], OFFICIAL["corp_id"])
    q = client.verify_url_params("echo-123")
    assert theirs.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]) == "echo-123"
    q, body = client.card_click("zhangsan", event_key="confirm", task_id="t-1", response_code="rc-1")
    fields = wc.parse_xml(theirs.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"]))
    assert (fields["Event"], fields["EventKey"], fields["TaskId"], fields["ResponseCode"]) == \
        ("template_card_event", "confirm", "t-1", "rc-1")
    q, body = client.text("zhangsan", "张三的保证金还够吗 ]]> 嗯", msg_id=42)
    assert wc.parse_xml(theirs.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"]))["Content"] \
        == "张三的保证金还够吗 ]]> 嗯"
    reply = theirs.encrypt_message("<xml><Content><![CDATA[够]]></Content></xml>", "n1", "1700000000")
    assert wc.parse_xml(client.open_reply(reply))["Content"] == "够"
    with pytest.raises(wc.SignatureError):
        client.open_reply(reply.replace("<TimeStamp>1700000000", "<TimeStamp>1700000001"))


@pytest.fixture
def fake():
    with FakeWeCom(users={"zhangsan", "lisi"}, webhook_keys={"hook-1"}, timeout_delay=0.6) as fake:
        yield fake


def _token(api: httpx.Client, fake: FakeWeCom) -> str:
    return api.get("/cgi-bin/gettoken", params={"corpid": fake.corp_id, "corpsecret": fake.secret}).json()["access_token"]


def _send(api, token, fake, **body):
    body = {"touser": "zhangsan", "agentid": fake.agent_id, "msgtype": "text", "text": {"content": "hi"}, **body}
    return api.post("/cgi-bin/message/send", params={"access_token": token}, json=body).json()


def test_tokens_expire_and_are_counted(fake):
    with httpx.Client(base_url=fake.base_url) as api:
        bad = api.get("/cgi-bin/gettoken", params={"corpid": fake.corp_id, "corpsecret": "wrong"}).json()
        assert bad["errcode"] == 40001
        assert api.get("/cgi-bin/gettoken", params={"corpid": "nope", "corpsecret": fake.secret}).json()["errcode"] \
            == 40013
        answer = api.get("/cgi-bin/gettoken", params={"corpid": fake.corp_id, "corpsecret": fake.secret}).json()
        assert answer["errcode"] == 0 and answer["expires_in"] == 7200
        token = answer["access_token"]
        assert _send(api, token, fake)["errcode"] == 0
        fake.expire_tokens()
        assert _send(api, token, fake)["errcode"] == 42001
        assert _send(api, "made-up", fake)["errcode"] == 40014
        token = _token(api, fake)
        fake.advance(7201)
        assert _send(api, token, fake)["errcode"] == 42001
    assert fake.token_requests == 4 and len(fake.sent) == 1


def test_message_send_validates_and_answers_like_wecom(fake):
    with httpx.Client(base_url=fake.base_url) as api:
        token = _token(api, fake)
        assert _send(api, token, fake, agentid=1)["errcode"] == 40056
        assert _send(api, token, fake, msgtype="voice")["errcode"] == 40008
        assert _send(api, token, fake, touser="ghost")["errcode"] == 81013
        partial = _send(api, token, fake, touser="zhangsan|ghost")
        assert partial["errcode"] == 0 and partial["invaliduser"] == "ghost" and "response_code" not in partial
        card = {"card_type": "button_interaction", "task_id": "task-1", "main_title": {"title": "确认?"},
                "button_list": [{"text": "确认", "key": "yes"}, {"text": "取消", "key": "no", "style": 2}]}
        sent = _send(api, token, fake, msgtype="template_card", template_card=card)
        assert sent["errcode"] == 0 and sent["msgid"] and sent["response_code"]
        assert _send(api, token, fake, msgtype="template_card", template_card=card)["errcode"] == 40058  # task_id reused
        no_key = {**card, "task_id": "task-2", "button_list": [{"text": "确认"}]}
        assert _send(api, token, fake, msgtype="template_card", template_card=no_key)["errcode"] == 40058

        update = {"userids": ["zhangsan"], "agentid": fake.agent_id, "response_code": sent["response_code"],
                  "button": {"replace_name": "已确认"}}
        url = "/cgi-bin/message/update_template_card"
        assert api.post(url, params={"access_token": token}, json=update).json()["errcode"] == 0
        assert api.post(url, params={"access_token": token}, json=update).json()["errcode"] == 40058
        late = {**update, "response_code": fake.new_response_code()}
        fake.advance(72 * 3600 + 1)
        assert api.post(url, params={"access_token": _token(api, fake)}, json=late).json()["errcode"] == 40058
    assert [u["button"]["replace_name"] for u in fake.card_updates] == ["已确认"]
    assert fake.received("zhangsan")[-1]["template_card"]["task_id"] == "task-1"


def test_more_than_30_a_minute_to_one_person_are_dropped_silently(fake):
    with httpx.Client(base_url=fake.base_url) as api:
        token = _token(api, fake)
        answers = [_send(api, token, fake, text={"content": f"m{i}"}) for i in range(32)]
        assert all(a["errcode"] == 0 and a["msgid"] for a in answers)
        assert len(fake.received("zhangsan")) == 30 and len(fake.dropped) == 2
        assert _send(api, token, fake, touser="lisi")["errcode"] == 0 and len(fake.received("lisi")) == 1
        fake.advance(60)
        _send(api, token, fake, text={"content": "later"})
    assert fake.received("zhangsan")[-1]["text"]["content"] == "later"


def test_group_webhook_allows_20_a_minute_then_45009(fake):
    with httpx.Client(base_url=fake.base_url) as api:
        def hook(key="hook-1"):
            return api.post("/cgi-bin/webhook/send", params={"key": key},
                            json={"msgtype": "markdown", "markdown": {"content": "**风险**"}}).json()
        assert [hook()["errcode"] for _ in range(21)] == [0] * 20 + [45009]
        assert hook("other")["errcode"] == 93000
        fake.advance(61)
        assert hook()["errcode"] == 0
    assert len(fake.webhook_messages["hook-1"]) == 21


def test_scripted_failures_then_recovery(fake):
    with httpx.Client(base_url=fake.base_url, timeout=0.3) as api:
        token = _token(api, fake)
        fake.fail_next("http500")
        assert api.post("/cgi-bin/message/send", params={"access_token": token}, json={}).status_code == 500
        fake.fail_next("busy")
        fake.fail_next("freq")
        assert _send(api, token, fake)["errcode"] == -1
        assert _send(api, token, fake)["errcode"] == 45009
        fake.fail_next("timeout")
        with pytest.raises(httpx.TimeoutException):
            _send(api, token, fake, text={"content": "lost"})
        assert _send(api, token, fake, text={"content": "ok"})["errcode"] == 0
        fake.fail_next("late")
        with pytest.raises(httpx.TimeoutException):
            _send(api, token, fake, text={"content": "late"})
        for _ in range(50):  # the late one is delivered once the fake gets to it
            if len(fake.sent) == 2:
                break
            time.sleep(0.05)
    assert [d.body["text"]["content"] for d in fake.sent] == ["ok", "late"]
    assert fake.count("/cgi-bin/message/send") == 6


def test_wechatpy_client_reads_the_fakes_answers(fake):
    """wechatpy.enterprise.WeChatClient pointed at the fake (API_BASE_URL; its fetch_access_token
    hard-codes the real host, so the token comes from our own gettoken call)."""
    from wechatpy.enterprise import WeChatClient
    from wechatpy.exceptions import WeChatClientException

    with httpx.Client(base_url=fake.base_url) as api:
        token = _token(api, fake)
    client = WeChatClient(fake.corp_id, fake.secret, access_token=token, timeout=2, auto_retry=False)
    client.API_BASE_URL = fake.base_url + "/cgi-bin/"
    assert client.message.send_text(fake.agent_id, "zhangsan", "你好")["errcode"] == 0
    fake.expire_tokens()
    with pytest.raises(WeChatClientException) as raised:
        client.message.send_text(fake.agent_id, "zhangsan", "你好")
    assert raised.value.errcode == 42001 and fake.received("zhangsan") == [
        {"touser": "zhangsan", "toparty": "", "totag": "", "agentid": fake.agent_id, "msgtype": "text",
         "text": {"content": "你好"}, "safe": 0}]


def _body(text: str, values: list[str], labels: list[str] | None = None, title: str | None = None) -> dict:
    labels = labels or [f"客户{v}" for v in values]
    return {"text": text, "title": title, "choices": [{"label": lb, "value": v} for lb, v in zip(labels, values)]}


def test_cards_the_sender_builds_pass_wecoms_rules_and_bad_ones_are_refused(fake):
    long_name = "欧阳" * 40
    bodies = [
        _body("有 2 位客户符合“张伟”，请回复序号：\n1. 张伟（账户 90020001）\n2. 张伟（账户 90020002）", ["1", "2"],
              ["张伟（账户 90020001；客户经理 王芳）", "张伟（账户 90020002；客户经理 王芳）"]),
        _body("请确认：登记线索：客户 王大锤；电话 138****1111；意向 原油期权，来源 朋友介绍\n回复“确认”保存，“取消”放弃。",
              ["确认", "取消"], ["确认", "取消"]),
        _body("\n".join(f"{n}. {long_name[:8]}" for n in range(1, 7)), [str(n) for n in range(1, 7)],
              [long_name] * 6, title=long_name),
    ]
    with httpx.Client(base_url=fake.base_url) as api:
        token = _token(api, fake)
        for body in bodies:
            card = template_card(body, new_task_id())
            assert _send(api, token, fake, msgtype="template_card", template_card=card)["errcode"] == 0
            assert len(card["main_title"]["title"]) <= TITLE_MAX
            assert len(card.get("sub_title_text", "")) <= SUBTITLE_MAX
            assert [b["key"] for b in card["button_list"]] == [c["value"] for c in body["choices"]]
            assert all(0 < len(b["text"]) <= BUTTON_MAX for b in card["button_list"])
        # A title cut short keeps the whole sentence in the text below it.
        confirm = fake.received("zhangsan")[1]["template_card"]
        assert confirm["main_title"]["title"].endswith("…") and "朋友介绍" in confirm["sub_title_text"]
        assert [b["text"] for b in confirm["button_list"]] == ["确认", "取消"]

        good = template_card(bodies[0], new_task_id())
        for bad in ({**good, "task_id": "card 1!"}, {**good, "task_id": "x" * 129},
                    {**good, "task_id": new_task_id(), "button_list": good["button_list"] * 2},
                    {**good, "task_id": new_task_id(), "button_list": [good["button_list"][0]] * 2},
                    {**good, "task_id": new_task_id(), "main_title": {}, "sub_title_text": ""}):
            assert _send(api, token, fake, msgtype="template_card", template_card=bad)["errcode"] == 40058
    assert len(fake.received("zhangsan")) == 3
    # What a card cannot hold whole goes as text (every choice listed, the number typed).
    assert template_card(_body("选一个", [str(n) for n in range(1, 8)]), new_task_id()) is None
    assert template_card(_body("第一行\n" + "很长的说明" * 40, ["1", "2"]), new_task_id()) is None
    assert template_card(_body("重复", ["1", "1"]), new_task_id()) is None
