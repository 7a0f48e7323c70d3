"""The fake Slack speaks what slack_sdk expects; the signed requests pass slack_sdk's own verifier."""
from __future__ import annotations

import json
import urllib.request
from urllib.parse import parse_qs

import pytest

from tests.fakes import slack_sign
from tests.fakes.slack_server import FakeSlack

slack_sdk = pytest.importorskip("slack_sdk")
from slack_sdk import WebClient  # noqa: E402
from slack_sdk.errors import SlackApiError  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_post_update_open_and_auth_in_the_real_shapes():
    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url)
        assert client.auth_test()["user_id"] == "U0FAKEBOT"
        dm = client.conversations_open(users="U123")["channel"]["id"]
        posted = client.chat_postMessage(channel=dm, text="保证金充足", blocks=[{"type": "section", "text": {
            "type": "mrkdwn", "text": "保证金充足"}}])
        assert posted["ok"] and posted["channel"] == dm and posted["message"]["ts"] == posted["ts"]
        updated = client.chat_update(channel=dm, ts=posted["ts"], text="已确认", blocks=[])
        assert updated["ts"] == posted["ts"] and updated["text"] == "已确认"
        assert fake.messages[(dm, posted["ts"])]["text"] == "已确认"
        assert fake.posted[0]["blocks"][0]["type"] == "section"
        assert [c.api for c in fake.calls] == ["auth.test", "conversations.open", "chat.postMessage", "chat.update"]
        assert fake.calls[2].headers["authorization"] == f"Bearer {fake.token}"
        with pytest.raises(SlackApiError) as err:
            client.chat_update(channel=dm, ts="1.000001", text="x")
        assert err.value.response["error"] == "message_not_found"


def test_tokens_are_checked():
    with FakeSlack() as fake:
        with pytest.raises(SlackApiError) as err:
            WebClient(base_url=fake.base_url).chat_postMessage(channel="D1", text="hi")
        assert err.value.response["error"] == "not_authed"
        with pytest.raises(SlackApiError) as err:
            WebClient(token="xoxb-wrong", base_url=fake.base_url).chat_postMessage(channel="D1", text="hi")
        assert err.value.response["error"] == "invalid_auth"
        assert fake.posted == [] and len(fake.calls) == 2


def test_scripted_failures_then_success():
    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url)
        fake.fail("chat.postMessage", "ratelimited", retry_after=7)
        fake.fail("chat.postMessage", "internal_error", status=500)
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="D1", text="a")
        assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "7"
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="D1", text="a")
        assert err.value.response.status_code == 500
        assert client.chat_postMessage(channel="D1", text="a")["ok"]
        fake.unknown_channels.add("C404")
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C404", text="a")
        assert err.value.response["error"] == "channel_not_found"


def test_one_post_per_second_per_channel_on_the_injected_clock():
    clock = Clock()
    with FakeSlack(clock=clock, post_interval=1.0) as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url)
        client.chat_postMessage(channel="D1", text="1")
        client.chat_postMessage(channel="D2", text="other channel")
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="D1", text="2")
        assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
        clock.now += 1.0
        assert client.chat_postMessage(channel="D1", text="2")["ok"]


def test_response_url_posts_are_recorded():
    with FakeSlack() as fake:
        request = urllib.request.Request(fake.response_url("abc"), data=json.dumps({"text": "done"}).encode(),
                                         headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(request, timeout=5).read() == b"ok"
        assert fake.response_url_posts == [{"text": "done"}]


@pytest.mark.parametrize("build", [
    lambda: slack_sign.dm_message(SECRET, user="U123", text="张三的保证金还够吗"),
    lambda: slack_sign.url_verification(SECRET),
    lambda: slack_sign.block_actions(SECRET, user="U123", action_id="confirm", value='{"v":1}',
                                     message_ts="1700000000.000100"),
])
def test_slack_sdk_verifier_accepts_what_the_builders_sign(build):
    request = build()
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(request.body, request.headers)
    assert not verifier.is_valid_request(request.body + b" ", request.headers)
    assert not SignatureVerifier("another-secret").is_valid_request(request.body, request.headers)


def test_event_payload_shapes_and_retries():
    first = slack_sign.dm_message(SECRET, user="U123", text="hi", event_id="Ev0001")
    event = first.json()
    assert event["type"] == "event_callback" and event["event_id"] == "Ev0001"
    assert event["event"]["channel_type"] == "im" and event["event"]["client_msg_id"]
    retry = slack_sign.retry_of(first, SECRET, 1)
    assert retry.body == first.body and retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert SignatureVerifier(SECRET).is_valid_request(retry.body, retry.headers)
    stale = slack_sign.dm_message(SECRET, user="U123", text="hi", timestamp=1_600_000_000)
    assert not SignatureVerifier(SECRET).is_valid_request(stale.body, stale.headers)  # outside 5 minutes
    click = slack_sign.block_actions(SECRET, user="U1", action_id="a", value="v", message_ts="1.000001")
    payload = json.loads(parse_qs(click.body.decode())["payload"][0])
    assert payload["actions"][0]["value"] == "v" and payload["container"]["message_ts"] == "1.000001"
    assert click.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_bolt_dispatches_a_signed_dm_and_replies_through_the_fake():
    bolt = pytest.importorskip("slack_bolt")
    from slack_bolt.request import BoltRequest

    with FakeSlack() as fake:
        app = bolt.App(signing_secret=SECRET, client=WebClient(token=fake.token, base_url=fake.base_url),
                       process_before_response=True)

        @app.event("message")
        def on_message(event, say):
            say(f"echo: {event['text']}")

        request = slack_sign.dm_message(SECRET, user="U123", text="hi")
        response = app.dispatch(BoltRequest(body=request.body.decode(), headers=request.headers))
        assert response.status == 200
        assert fake.posted[-1]["text"] == "echo: hi" and fake.posted[-1]["channel"] == "D0FAKEDM1"
        forged = slack_sign.dm_message("wrong-secret", user="U123", text="hi")
        assert app.dispatch(BoltRequest(body=forged.body.decode(), headers=forged.headers)).status == 401
