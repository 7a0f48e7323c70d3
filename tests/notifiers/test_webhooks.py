"""Group chats of channels.yaml: WeCom and DingTalk group robots reached through the outbox, run
against the fake platforms on loopback. A message reaches the right robot, DingTalk posts are signed
and a wrong secret fails with the reason, a burst to one group arrives merged at no more than 20
posts a minute with nothing lost or doubled, and a bad channels.yaml stops start-up naming the line."""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.app import App
from notifiers.channels import Channels
from crm_core.config_files import ConfigFileError
from bot.service import build_senders
from bot.settings import Settings
from crm_core.outbox import OutboxMessage, OutboxStatus
from messaging.replies import Reply
from notifiers.outbox import Dispatcher, enqueue
from notifiers.webhooks import WeComRobotSender
from tests.conftest import TEST_KEY
from tests.fakes import dingtalk_sign
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.fakes.slack_server import FakeSlack
from tests.fakes.wecom_server import FakeWeCom, ManualClock

T0 = datetime(2026, 11, 18, 6, 0, tzinfo=timezone.utc)  # 14:00 in Shanghai

CHANNELS = """\
channels:
  - name: risk-desk
    type: wecom_webhook
    url: {wecom}/cgi-bin/webhook/send?key=desk-key
    levels: [warning, margin_call, force_close]
    teams: ["*"]
  - name: team-east
    type: wecom_webhook
    url: {wecom}/cgi-bin/webhook/send?key=east-key
    levels: [margin_call, force_close]
    teams: [华东一部]
  - name: risk-ding
    type: dingtalk_webhook
    url: {ding}/robot/send?access_token=ding-token
    secret: SECding-right-secret
    levels: [force_close]
    teams: ["*"]
  - name: ding-typo
    type: dingtalk_webhook
    url: {ding}/robot/send?access_token=other-token
    secret: SECnot-the-robots-secret
    levels: [force_close]
    teams: [West]
  - name: west-slack
    type: slack_channel
    channel_id: C0WEST0001
    levels: [warning, force_close]
    teams: [West]
"""


@pytest.fixture
def wecom():
    with FakeWeCom(clock=ManualClock(T0.timestamp()), webhook_keys={"desk-key", "east-key"}) as fake:
        yield fake


@pytest.fixture
def dingtalk():
    with FakeDingTalk(webhooks={"ding-token": "SECding-right-secret", "other-token": "SECother"}) as fake:
        yield fake


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def bot(settings, tmp_path, wecom, dingtalk, slack):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "channels.yaml").write_text(CHANNELS.format(wecom=wecom.base_url, ding=dingtalk.base_url),
                                          encoding="utf-8")
    app = App(settings.model_copy(update={"config_dir": folder, "slack_bot_token": slack.token,
                                          "slack_api_base": slack.base_url})).ready()
    yield app
    app.close()


def queue(app, channel_name: str, *texts: str, title: str | None = None, now=T0) -> None:
    channel = app.channels.get(channel_name)
    with app.db.transaction() as session:
        for text in texts:
            enqueue(session=session, channel=channel.outbox[0], target=channel.outbox[1],
                    reply=Reply(text, title=title), now=now)


def rows(app) -> list[OutboxMessage]:
    with app.db.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def at_most_per_minute(times: list[float]) -> int:
    """The most posts in any minute (the platforms count the 60 s before each post)."""
    return max((sum(1 for u in times if t - 60 < u <= t) for t in times), default=0)


def test_an_alert_reaches_the_wecom_group_of_its_channel_and_no_other(bot, wecom):
    queue(bot, "team-east", "张三（账户 8800123）风险度 102.35%，应追加资金 19,995,085.19", title="追保通知")
    assert Dispatcher(bot.db, build_senders(bot)).run_once(now=T0) == 1
    [post] = wecom.webhook_messages["east-key"]
    assert post["msgtype"] == "markdown"
    assert post["markdown"]["content"] == "**追保通知**\n张三（账户 8800123）风险度 102.35%，应追加资金 19,995,085.19"
    assert wecom.webhook_messages["desk-key"] == []
    [row] = rows(bot)
    assert row.status == OutboxStatus.delivered and row.target == "team-east"  # a name, no key in the database


def test_a_dingtalk_group_message_is_signed_and_accepted(bot, dingtalk):
    queue(bot, "risk-ding", "李四（账户 8800456）交易所风险度 101.20%，强平")
    assert Dispatcher(bot.db, build_senders(bot)).run_once(now=T0) == 1
    [post] = dingtalk.webhook_messages
    assert post["access_token"] == "ding-token" and post["text"]["content"] == "李四（账户 8800456）交易所风险度 101.20%，强平"
    [request] = [r for r in dingtalk.requests if r.path == "/robot/send"]
    assert dingtalk_sign.valid("SECding-right-secret", request.query["timestamp"], request.query["sign"],
                               dingtalk.now_ms())


def test_a_wrong_dingtalk_secret_is_refused_and_the_message_fails_with_the_reason(bot, dingtalk):
    queue(bot, "ding-typo", "王五 强平")
    dispatcher = Dispatcher(bot.db, build_senders(bot))
    assert dispatcher.run_once(now=T0) == 0
    [row] = rows(bot)
    assert row.status == OutboxStatus.failed and row.attempts == 1  # not retried: a wrong secret stays wrong
    assert "310000 sign not match" in row.last_error and "ding-typo" in row.last_error
    assert dispatcher.run_once(now=T0 + timedelta(minutes=10)) == 0
    assert dingtalk.webhook_messages == []


def test_a_long_dingtalk_message_arrives_in_signed_posts_within_the_size_limit(bot, dingtalk):
    texts = [f"第{i:02d}条 " + "强平风险" * 400 for i in range(6)]  # about 4.8 KB each
    queue(bot, "risk-ding", *texts)
    assert Dispatcher(bot.db, build_senders(bot)).run_once(now=T0) == 6
    contents = [post["text"]["content"] for post in dingtalk.webhook_messages]
    assert len(contents) == 2 and "\n\n".join(contents) == "\n\n".join(texts)


def test_45_messages_at_once_reach_a_wecom_group_merged_at_most_20_posts_a_minute(bot, wecom):
    texts = [f"第{i:02d}号账户 追保 " + "风险" * 240 for i in range(45)]  # about 1.5 KB: two fit in a post
    queue(bot, "risk-desk", *texts)
    dispatcher = Dispatcher(bot.db, {"wecom_webhook": WeComRobotSender(bot.channels, clock=wecom.clock)})
    for step in range(10):  # the clock moves 30 s at a time; nothing sleeps
        now = T0 + timedelta(seconds=30 * step)
        wecom.clock.t = now.timestamp()
        dispatcher.run_once(now=now)
    assert {row.status for row in rows(bot)} == {OutboxStatus.delivered}
    posts = wecom.webhook_messages["desk-key"]
    assert 23 <= len(posts) < 45  # merged
    assert at_most_per_minute([post["at"] for post in posts]) <= 20
    assert all(len(post["markdown"]["content"].encode()) <= 4096 for post in posts)
    delivered = "\n\n".join(post["markdown"]["content"] for post in posts)
    assert all(delivered.count(text) == 1 for text in texts)  # every message once: none lost, none twice


def test_a_stream_of_messages_to_one_group_is_held_back_and_merged_not_dropped(bot, wecom):
    dispatcher = Dispatcher(bot.db, {"wecom_webhook": WeComRobotSender(bot.channels, clock=wecom.clock)})
    for second in range(61):  # one new message a second for 45 s, the dispatcher running every second
        now = T0 + timedelta(seconds=second)
        wecom.clock.t = now.timestamp()
        if second < 45:
            queue(bot, "risk-desk", f"预警 {second:02d}", now=now)
        dispatcher.run_once(now=now)
    posts = wecom.webhook_messages["desk-key"]
    assert len(posts) == 21 and at_most_per_minute([post["at"] for post in posts]) == 20
    assert posts[-1]["markdown"]["content"] == "\n\n".join(f"预警 {i:02d}" for i in range(20, 45))
    assert {row.status for row in rows(bot)} == {OutboxStatus.delivered}


def test_a_slack_channel_gets_its_alerts_through_the_slack_sender(bot, slack):
    queue(bot, "west-slack", "赵六 警告")
    assert Dispatcher(bot.db, build_senders(bot)).run_once(now=T0) == 1
    [post] = slack.posted
    assert post["channel"] == "C0WEST0001" and post["text"] == "赵六 警告"


def test_for_alert_picks_channels_by_level_and_team(tmp_path):
    (tmp_path / "channels.yaml").write_text(CHANNELS.format(wecom="https://wecom", ding="https://ding"),
                                            encoding="utf-8")
    channels = Channels.load(tmp_path)

    def names(level, team):
        return [channel.name for channel in channels.for_alert(level, team)]

    assert names("warning", "华东一部") == ["risk-desk"]
    assert names("margin_call", "华东一部") == ["risk-desk", "team-east"]
    assert names("force_close", "West") == ["risk-desk", "risk-ding", "ding-typo", "west-slack"]
    assert names("margin_call", None) == ["risk-desk"]  # a manager without a team: the "*" channels


def test_the_packaged_channels_yaml_sends_nowhere():
    assert len(App(Settings(database_url="sqlite://", secret_key="k" * 32)).channels) == 0


GOOD = """\
channels:
  - name: desk
    type: wecom_webhook
    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    levels: [warning]
    teams: ["*"]
"""


@pytest.mark.parametrize("entry, line, reason", [
    ("  - name: ding\n    type: dingtalk_robot\n    url: https://oapi.dingtalk.com/robot/send?access_token=T\n"
     "    levels: [warning]\n    teams: ['*']\n",
     8, "channels.1.type: Input should be 'wecom_webhook', 'dingtalk_webhook' or 'slack_channel'"),
    ("  - name: ding\n    type: dingtalk_webhook\n    url: https://oapi.dingtalk.com/robot/send?access_token=T\n"
     "    levels: [warning]\n    teams: ['*']\n",
     7, "channels.1: Value error, a dingtalk_webhook channel needs secret"),
    ("  - name: east\n    type: wecom_webhook\n    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K2\n"
     "    levels: [warning, margin]\n    teams: [East]\n",
     10, "channels.1.levels.1: Input should be 'warning', 'margin_call' or 'force_close'"),
    ("  - name: desk\n    type: slack_channel\n    channel_id: C0123\n    levels: [warning]\n    teams: ['*']\n",
     7, "channels.1.name: 'desk' is already the name of the channel on line 2"),
    ("  - name: east\n    type: wecom_webhook\n    levels: [warning]\n    teams: ['*']\n",
     7, "channels.1: Value error, a wecom_webhook channel needs url"),
])
def test_a_bad_channels_yaml_stops_startup_naming_file_line_and_reason(tmp_path, entry, line, reason):
    (tmp_path / "channels.yaml").write_text(GOOD + entry, encoding="utf-8")
    app = App(Settings(database_url="sqlite://", secret_key="k" * 32, config_dir=tmp_path))
    with pytest.raises(ConfigFileError) as caught:
        app.ready()
    assert str(caught.value).startswith(f"{tmp_path / 'channels.yaml'} line {line}: {reason}")


def test_the_service_refuses_to_start_on_a_bad_channels_yaml(tmp_path):
    (tmp_path / "channels.yaml").write_text(GOOD.replace("levels: [warning]", "levels: [warn]"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    env.update(BROKERBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}", BROKERBOT_SECRET_KEY=TEST_KEY,
               BROKERBOT_CONFIG_DIR=str(tmp_path), PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "serve", "--port", "0"], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"brokerbot: {tmp_path / 'channels.yaml'} line 5: channels.0.levels.0: "
        "Input should be 'warning', 'margin_call' or 'force_close'")
