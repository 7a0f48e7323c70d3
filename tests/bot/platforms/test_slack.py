"""A manager talks to brokerbot in Slack: signed events to the real service over HTTP, the Web
API played by a fake Slack server."""
import time

import httpx
import pytest

from bot.service import Service
from crm_core.staff import Role
from tests import factories as f
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_sign import block_actions, dm_message, retry_of, sign
from tests.running import running
from tests.worlds import SNAP_AT

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def service(app, session, slack):
    m1 = f.staff(session, "wangfang", "王芳", Role.manager, slack_user_id="U0WANG")
    f.client(session, "张三", m1, ["90012345"])
    f.client(session, "张伟", m1, ["90020001"])
    f.client(session, "张伟", m1, ["90020002"])
    f.snapshot(session, "90012345", SNAP_AT, "1425363.60", "751468.00")
    session.commit()
    s = app.settings
    s.slack_bot_token, s.slack_signing_secret, s.slack_api_base = slack.token, SECRET, slack.base_url
    return Service(app)


def deliver(base, request):
    started = time.monotonic()
    answer = httpx.post(f"{base}/slack/events", content=request.body, headers=request.headers, timeout=10)
    return answer, time.monotonic() - started


def wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def test_a_dm_is_acked_and_answered_once_despite_retries(service, slack):
    with running(service) as base:
        question = dm_message(SECRET, user="U0WANG", text="张三的保证金还够吗", channel="D0WANG")
        answers = [deliver(base, question)] + [deliver(base, retry_of(question, SECRET, n)) for n in (1, 2)]
        assert wait_for(lambda: slack.posted)
        time.sleep(0.5)
    assert all(a.status_code == 200 and took < 3 for a, took in answers)
    assert len(slack.posted) == 1
    assert slack.posted[0]["channel"] == "D0WANG" and "客户权益：1,425,363.60" in slack.posted[0]["text"]


def test_a_forged_or_stale_request_is_refused(service, slack):
    with running(service) as base:
        forged = dm_message("not-the-secret", user="U0WANG", text="张三的保证金还够吗")
        assert deliver(base, forged)[0].status_code == 401
        stale = dm_message(SECRET, user="U0WANG", text="张三的保证金还够吗", timestamp=int(time.time()) - 600)
        assert deliver(base, stale)[0].status_code == 401
        time.sleep(0.3)
    assert not slack.posted


def test_buttons_for_a_choice_and_the_click_updates_the_card(service, slack):
    with running(service) as base:
        deliver(base, dm_message(SECRET, user="U0WANG", text="张伟的保证金", channel="D0WANG"))
        assert wait_for(lambda: slack.posted)
        card = slack.posted[0]
        buttons = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [b["value"] for b in buttons] == ["1", "2"]
        ts = slack.calls_to("chat.postMessage")[0].response["ts"]
        click = block_actions(SECRET, user="U0WANG", action_id=buttons[1]["action_id"], value="2",
                              message_ts=ts, channel="D0WANG")
        assert deliver(base, click)[0].status_code == 200
        assert wait_for(lambda: len(slack.posted) == 2)
    assert "90020002" in slack.posted[1]["text"]
    [update] = slack.calls_to("chat.update")
    assert update.args["ts"] == ts and "已选择" in update.args["text"]


def test_figures_asked_in_a_channel_go_to_the_askers_dm(service, slack):
    body = dm_message(SECRET, user="U0WANG", text="张三的保证金还够吗", channel="C0RISK").json()
    body["event"]["channel_type"] = "channel"
    import json
    with running(service) as base:
        deliver(base, sign(SECRET, json.dumps(body, ensure_ascii=False)))
        assert wait_for(lambda: len(slack.posted) == 2)
    by_channel = {p["channel"]: p["text"] for p in slack.posted}
    assert "1,425,363.60" in by_channel["U0WANG"] and "1,425,363.60" not in by_channel["C0RISK"]
    assert "私信" in by_channel["C0RISK"]


# -- issue 10: an approval card clicked by someone who may not decide it stays for its approver ----
def test_an_approval_card_clicked_by_a_stranger_keeps_its_buttons_and_the_approvers_click_decides(
        service, slack, session):
    one, two = f.team(session, "一组"), f.team(session, "二组")
    sup = f.staff(session, "zhousup", "周主管", Role.supervisor, one, slack_user_id="U0SUP")
    liu = f.staff(session, "liuyang", "刘洋", Role.manager, one, sup, slack_user_id="U0LIU")
    f.staff(session, "lijun", "李军", Role.manager, two, slack_user_id="U0LI")
    f.client(session, "李四", liu, ["90030001"])
    session.commit()

    def to(channel):
        return [p["text"] for p in slack.posted if p["channel"] == channel]

    with running(service) as base:
        deliver(base, dm_message(SECRET, user="U0LIU", text="帮李四申请手续费优惠，按交易所1.2倍", channel="D0LIU"))
        assert wait_for(lambda: to("U0SUP"))
        [card] = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "U0SUP"]
        ts, channel = card.response["ts"], card.response["channel"]
        [approve, _] = [e for b in card.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
        click = dict(action_id=approve["action_id"], value=approve["value"], message_ts=ts, channel=channel)
        deliver(base, block_actions(SECRET, user="U0LI", **click))  # a stale or shared card
        assert wait_for(lambda: to("U0LI"))
        time.sleep(0.3)
        assert slack.calls_to("chat.update") == [] and to(channel) == to("D0SUP") == []
        deliver(base, block_actions(SECRET, user="U0SUP", **click))
        assert wait_for(lambda: to("D0SUP") and [t for t in to("U0LIU") if "批准" in t])
    assert to("U0LI") == ["没有找到您可审批的申请 #1。"]
    [decided] = to("D0SUP")
    assert "已同意 #1" in decided and "已生效" in decided
    [update] = slack.calls_to("chat.update")
    assert update.args["ts"] == ts and "已选择：同意" in update.args["text"]
    [told] = [t for t in to("U0LIU") if "批准" in t]
    assert "周主管" in told


def test_the_kpi_report_asked_in_a_channel_posts_only_the_note_there(service, slack):
    """For a manager with one client, 客户权益合计 is that client's equity: not for the channel."""
    body = dm_message(SECRET, user="U0WANG", text="我这个月的业绩", channel="C0TEAM").json()
    body["event"]["channel_type"] = "channel"
    import json
    with running(service) as base:
        deliver(base, sign(SECRET, json.dumps(body, ensure_ascii=False)))
        assert wait_for(lambda: len(slack.posted) == 2)
        time.sleep(0.3)
    by_channel = {p["channel"]: p["text"] for p in slack.posted}
    assert set(by_channel) == {"U0WANG", "C0TEAM"}
    assert "客户权益合计：1,425,363.60" in by_channel["U0WANG"]
    assert by_channel["C0TEAM"] == "客户数据不在群里发，已私信回复您。"


# -- outsiders (issue 12) ------------------------------------------------------------------------
UNSIGNED_BODIES = [b"{x", b"[1]", b"\xff\xfe\xfd", b"[" * 50_000, b'{"type": "event_callback"}',
                   b"payload=%7Bx"]


@pytest.mark.parametrize("body", UNSIGNED_BODIES, ids=["broken", "list", "not-utf8", "deep", "event", "form"])
def test_unsigned_or_badly_stamped_requests_are_refused_unparsed(service, slack, body):
    now = str(int(time.time()))
    headers = [{"Content-Type": "application/json"},  # no signature at all
               {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=1"},
               {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=00"},
               {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "1e9",
                "X-Slack-Signature": "v0=00"}]
    with running(service) as base:
        answers = [httpx.post(f"{base}/slack/events", content=body, headers=h, timeout=10).status_code for h in headers]
    assert answers == [401, 401, 401, 401] and not slack.posted


def test_a_stale_or_replayed_signed_event_is_refused_or_answered_once(service, slack):
    question = dm_message(SECRET, user="U0WANG", text="张三的保证金还够吗", channel="D0WANG")
    stale = sign(SECRET, question.body, timestamp=int(time.time()) - 301)
    with running(service) as base:
        assert deliver(base, stale)[0].status_code == 401
        assert deliver(base, question)[0].status_code == 200
        assert deliver(base, sign(SECRET, question.body))[0].status_code == 200  # re-signed: the same event_id
        assert wait_for(lambda: slack.posted)
        time.sleep(0.5)
    assert len(slack.posted) == 1


@pytest.mark.parametrize("body,content_type", [
    (b"[1]", "application/json"), (b"{x", "application/json"), (b"[" * 50_000, "application/json"),
    (b"payload=%7Bx", "application/x-www-form-urlencoded"), (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
], ids=["list", "broken", "deep", "form-broken", "form-list"])
def test_a_signed_body_bolt_cannot_read_gets_a_4xx(service, slack, body, content_type):
    with running(service) as base:
        answer, _ = deliver(base, sign(SECRET, body, content_type=content_type))
    assert 400 <= answer.status_code < 500 and not slack.posted
