"""Malformed and hostile requests against the real service with WeCom, DingTalk (HTTP mode) and
Slack configured (issue 12): a fixed-seed fuzz of a few hundred requests per callback route, some
unsigned, some signed with the real secrets, none of which may be answered with a 5xx, while
/healthz keeps answering. How quickly it answers, and the memory the service takes, are measured
by benchmarks/hostile_bench.py (5,000+ requests), not asserted here."""
import hashlib
import hmac
import json
import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest

from bot.service import Service
from crm_core.staff import Role
from tests import factories as f
from tests.fakes import dingtalk_sign
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.fakes.slack_server import FakeSlack
from tests.fakes.wecom_crypto import CallbackClient, text_message_xml
from tests.fakes.wecom_crypto import signature as wecom_signature
from tests.fakes.wecom_server import FakeWeCom
from tests.running import running

TOKEN, AES_KEY, CORP = "brokerbotToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwfakecorp0001"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PER_ROUTE = 250
TEN_MB = 10 * 1024 * 1024

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                  + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
                  + ']><xml><Encrypt>&i;</Encrypt><MsgType>text</MsgType><Content>&i;</Content></xml>')
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
EXTREMES = ["1e999999", "-1e999999", "9" * 400, "-0", "NaN", "Infinity", "1.7976931348623157e309", "0x10",
            "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "\u0000", "٣"]


@pytest.fixture
def fakes():
    with FakeWeCom(corp_id=CORP, users={"wangfang"}) as wecom, FakeDingTalk() as dingtalk, FakeSlack() as slack:
        yield wecom, dingtalk, slack


@pytest.fixture
def service(app, session, fakes):
    wecom, dingtalk, slack = fakes
    m1 = f.staff(session, "wangfang", "王芳", Role.manager, wecom_userid="wangfang", dingtalk_userid="manager001",
                 slack_user_id="U0WANG")
    f.client(session, "张三", m1, ["90012345"])
    session.commit()
    s = app.settings
    s.wecom_corp_id, s.wecom_secret, s.wecom_agent_id = CORP, wecom.secret, str(wecom.agent_id)
    s.wecom_token, s.wecom_aes_key, s.wecom_api_base = TOKEN, AES_KEY, wecom.base_url
    s.dingtalk_client_id, s.dingtalk_client_secret = dingtalk.app_key, dingtalk.app_secret
    s.dingtalk_api_base, s.dingtalk_mode = dingtalk.base_url, "http"
    s.slack_bot_token, s.slack_signing_secret, s.slack_api_base = slack.token, SLACK_SECRET, slack.base_url
    return Service(app)


def deep_json(rng) -> bytes:
    depth = rng.choice([100, 5_000, 30_000])
    return (rng.choice(["[", '{"a":']) * depth).encode()


def hostile_body(rng, *, xml: bool) -> bytes:
    """One malformed body: random bytes, invalid UTF-8, truncated or hostile XML, deep or odd JSON."""
    kind = rng.randrange(9)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 3000))
    if kind == 1:
        return b"\xff\xfe" + "张三".encode("gbk") + rng.randbytes(20) + b"\xc3("
    if kind == 2:
        whole = text_message_xml(corp_id=CORP, from_user="wangfang", content="张三的保证金", msg_id=1, agent_id=1)
        return whole.encode()[: rng.randrange(len(whole))]
    if kind == 3:
        return rng.choice([BILLION_LAUGHS, EXTERNAL]).encode()
    if kind == 4:
        depth = rng.choice([100, 10_000])
        return b"<xml>" + b"<a>" * depth + b"<Encrypt>QUJD</Encrypt>" + b"</a>" * (depth // 2)
    if kind == 5:
        return deep_json(rng)
    if kind == 6:
        value = rng.choice(EXTREMES)
        return (f'{{"msgtype":"text","text":{{"content":"{value}"}},"msgId":{value},"senderStaffId":"manager001",'
                f'"sessionWebhookExpiredTime":{value},"event":{{"type":"message","ts":{value}}}}}').encode("utf-8", "replace")
    if kind == 7:
        return json.dumps(rng.choice([[1], 1, None, "x", {"type": "url_verification"}, {"payload": [1]},
                                      {"msgtype": "text", "text": "张三", "msgId": {}, "senderStaffId": []}])).encode()
    return b"<xml><Encrypt><![CDATA[" + rng.randbytes(rng.randrange(1, 200)).hex().encode() + b"]]></Encrypt></xml>" \
        if xml else b"payload=" + rng.randbytes(rng.randrange(1, 200))


def odd_stamp(rng, now: int) -> str:
    return rng.choice([str(now), str(now - 10**6), "abc", "-1", "9" * 40, "", "1e3", str(now * 1000), "+12"])


def wecom_requests(rng, wx: CallbackClient, count: int = PER_ROUTE):
    now = int(time.time())
    for i in range(count):
        body = hostile_body(rng, xml=True)
        query = {"msg_signature": rng.choice(["0" * 40, "", "x"]), "timestamp": odd_stamp(rng, now), "nonce": "1"}
        roll = rng.random()
        if roll < 0.3:  # signed with the real token and key: hostile plaintext inside
            query, text = wx.envelope(body.decode("utf-8", "replace"))
            body = text.encode()
        elif roll < 0.4:  # a signed Encrypt field that is not ours
            encrypt = rng.choice(["QUJD", "A" * 64, "not/base64=="])
            query = {"msg_signature": wecom_signature(TOKEN, str(now), "1", encrypt), "timestamp": str(now), "nonce": "1"}
            body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        elif roll < 0.5:  # the URL check
            echostr = rng.choice(["QUJD", "not base64!", "A" * 64, "=" * 8])
            yield "GET", "/wecom/callback", {"msg_signature": wecom_signature(TOKEN, str(now), "1", echostr),
                                             "timestamp": str(now), "nonce": "1", "echostr": echostr}, None, {}
            continue
        yield "POST", "/wecom/callback", query, body, {"Content-Type": "text/xml"}


def dingtalk_requests(rng, secret: str, count: int = PER_ROUTE):
    for i in range(count):
        body = hostile_body(rng, xml=False)
        if rng.random() < 0.5:
            headers = dict(dingtalk_sign.signed_callback(secret, {}).headers)
        else:
            headers = {"timestamp": odd_stamp(rng, int(time.time() * 1000)), "sign": rng.choice(["", "x", "A" * 44])}
        yield "POST", "/dingtalk/callback", {}, body, headers


def slack_requests(rng, count: int = PER_ROUTE):
    for i in range(count):
        body = hostile_body(rng, xml=False)
        content_type = rng.choice(["application/json", "application/x-www-form-urlencoded"])
        now = int(time.time())
        if rng.random() < 0.5:  # signed over the raw bytes, as Slack would
            digest = hmac.new(SLACK_SECRET.encode(), f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
            headers = {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": f"v0={digest}"}
        else:
            headers = {"X-Slack-Request-Timestamp": odd_stamp(rng, now), "X-Slack-Signature": "v0=" + "0" * 64}
        yield "POST", "/slack/events", {}, body, {"Content-Type": content_type, **headers}


def huge_requests():
    """10 MB bodies on each route, declared and chunked (no Content-Length)."""
    nested = b"<xml>" + b"<a>" * (TEN_MB // 3)
    for path in ("/wecom/callback", "/dingtalk/callback", "/slack/events", "/api/v1/snapshots"):
        query = {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"}
        yield "POST", path, query, nested, {}
        yield "POST", path, query, (nested[i:i + 65536] for i in range(0, len(nested), 65536)), {}


def fire(base: str, route: str, seed: int, dingtalk_secret: str, count: int = PER_ROUTE) -> tuple[list, list]:
    """One route's requests, sent from a separate process (as platforms and attackers are): the
    service's own threads are then all that competes inside its process."""
    rng = random.Random(seed)
    wx = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP)
    batch = {"wecom": lambda: wecom_requests(rng, wx, count),
             "dingtalk": lambda: dingtalk_requests(rng, dingtalk_secret, count),
             "slack": lambda: slack_requests(rng, count), "huge": huge_requests}[route]()
    answers, errors = [], []
    with httpx.Client(base_url=base, timeout=30) as client:
        for method, path, query, body, headers in batch:
            try:
                answer = client.request(method, path, params=query, content=body, headers=headers)
                answers.append((path, answer.status_code, answer.text[:200]))
            except httpx.TransportError as exc:  # a refused 10 MB body may close the connection
                if route != "huge":
                    errors.append((path, repr(exc)))
    return answers, errors


def test_hostile_requests_get_no_5xx_and_healthz_stays_quick(service, fakes):
    wecom, dingtalk, slack = fakes
    with running(service) as base, httpx.Client(base_url=base, timeout=5) as probe, \
            ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as senders:
        probe.get("/healthz")  # connected: what is timed below is the answer
        runs = [senders.submit(fire, base, route, 12 + i, dingtalk.app_secret)
                for i, route in enumerate(("wecom", "dingtalk", "slack", "huge"))]
        probes = 0
        while not probes or not all(run.done() for run in runs):
            assert probe.get("/healthz").status_code == 200
            probes += 1
            time.sleep(0.02)
        results = [run.result() for run in runs]
    answers = [a for got, _ in results for a in got]
    errors = [e for _, got in results for e in got]
    failures = [a for a in answers if a[1] >= 500]
    assert not failures and not errors
    assert len(answers) >= 3 * PER_ROUTE
    assert not wecom.sent and not slack.posted
