"""Images and files through the durable outbox: a PNG and an XLSX reach a person on WeCom, DingTalk
and Slack through each platform's upload API, then the message naming the media id; a WeCom group
robot gets them inline and by upload_media; a DingTalk custom robot says it cannot; a failed upload
is retried without sending the text twice; the bytes live in the database (not in the message body)
so a new process still sends them; an expired media id is uploaded again; the terminal saves them.
Every byte is compared with what the fake platform received."""
import base64
import io
import logging

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.platforms.terminal.adapter import TerminalSession, run_lines
from bot.app import App
from bot.service import build_senders
from crm_core.outbox import OutboxMedia, OutboxMessage, OutboxStatus
from messaging.replies import Attachment, Reply
from notifiers.dingtalk import DingTalkSender
from notifiers.outbox import Dispatcher, enqueue
from notifiers.slack import SlackSender
from notifiers.wecom import WeComClient
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.fakes.slack_server import FakeSlack
from tests.fakes.wecom_server import FakeWeCom
from tests.media_files import XLSX_MIME, image_attachment, png, xlsx_attachment


def report(text="张三 11月18日 保证金日报") -> Reply:
    return Reply(text, attachments=[image_attachment(), xlsx_attachment()])


def queue(app, channel: str, target: str, reply: Reply) -> int:
    with app.db.transaction() as session:
        return enqueue(session=session, channel=channel, target=target, reply=reply).id


def row(app, row_id: int) -> OutboxMessage:
    with app.db.session() as session:
        return session.get(OutboxMessage, row_id)


# -- WeCom app -----------------------------------------------------------------------------------
@pytest.fixture
def wecom():
    with FakeWeCom(users={"wangfang"}, webhook_keys={"desk-key"}) as fake:
        yield fake


def wecom_client(app, fake) -> WeComClient:
    return WeComClient(app.db, api_base=fake.base_url, corp_id=fake.corp_id, secret=fake.secret,
                       agent_id=str(fake.agent_id), timeout=2)


def test_an_image_and_a_file_reach_a_wecom_member_through_media_upload(app, wecom):
    message = queue(app, "wecom", "wangfang", report())
    assert Dispatcher(app.db, {"wecom": wecom_client(app, wecom)}).run_once() == 1
    image, sheet = wecom.uploads
    assert (image.type, image.filename, image.content_type, image.data) == (
        "image", "风险度-20261118.png", "image/png", png())
    assert (sheet.type, sheet.filename, sheet.content_type, sheet.data) == (
        "file", "margin-20261118.xlsx", XLSX_MIME, xlsx_attachment().content)
    text, picture, file = wecom.received("wangfang")
    assert text["text"]["content"] == "张三 11月18日 保证金日报"
    assert picture["msgtype"] == "image" and picture["image"]["media_id"] == image.media_id
    assert file["msgtype"] == "file" and file["file"]["media_id"] == sheet.media_id
    done = row(app, message)
    assert done.status == OutboxStatus.delivered and done.parts_done == 3


def test_the_bytes_are_in_the_database_not_the_body_and_a_new_process_sends_them(app, settings, wecom):
    message = queue(app, "wecom", "wangfang", report())
    body = row(app, message).body
    assert [a["filename"] for a in body["attachments"]] == ["风险度-20261118.png", "margin-20261118.xlsx"]
    assert "content" not in str(body) and base64.b64encode(png()).decode() not in str(body)
    app.close()  # the process that queued it is gone; another one delivers
    again = App(settings).ready()
    try:
        assert Dispatcher(again.db, {"wecom": wecom_client(again, wecom)}).run_once() == 1
    finally:
        again.close()
    assert [u.data for u in wecom.uploads] == [png(), xlsx_attachment().content]


def test_an_upload_that_fails_with_a_5xx_is_retried_and_the_text_is_sent_once(app, wecom):
    wecom.fail_next("http500", path="/cgi-bin/media/upload")
    message = queue(app, "wecom", "wangfang", report())
    dispatcher = Dispatcher(app.db, {"wecom": wecom_client(app, wecom)}, base_delay=0)
    assert dispatcher.run_once() == 0
    first = row(app, message)
    assert first.status == OutboxStatus.pending and "HTTP 500" in first.last_error and first.parts_done == 1
    assert dispatcher.run_once() == 1
    assert [d.msgtype for d in wecom.sent] == ["text", "image", "file"]  # the text once, each file once
    assert [u.data for u in wecom.uploads] == [png(), xlsx_attachment().content]
    assert wecom.count("/cgi-bin/media/upload") == 3  # the failed one, then both


def test_a_media_id_is_reused_on_retry_and_uploaded_again_once_expired(app, wecom):
    message = queue(app, "wecom", "wangfang", Reply("", attachments=[image_attachment()]))
    wecom.fail_next("busy", path="/cgi-bin/message/send")
    dispatcher = Dispatcher(app.db, {"wecom": wecom_client(app, wecom)}, base_delay=0)
    assert dispatcher.run_once() == 0  # uploaded, then message/send says busy
    assert dispatcher.run_once() == 1
    assert len(wecom.uploads) == 1  # the cached media_id was sent again, not a new upload
    with app.db.session() as session:
        [media] = session.scalars(select(OutboxMedia))
        assert media.platform_media_id == wecom.uploads[0].media_id
    assert row(app, message).status == OutboxStatus.delivered

    # a later message with its own copy whose id expired on WeCom's side (3 days on its clock)
    later = queue(app, "wecom", "wangfang", Reply("", attachments=[image_attachment()]))
    assert dispatcher.run_once() == 1 and len(wecom.uploads) == 2
    wecom.advance(3 * 86400 + 60)
    with app.db.transaction() as session:  # the message is sent again, e.g. re-queued by an operator
        again = session.get(OutboxMessage, later)
        again.status, again.parts_done, again.next_attempt_at = OutboxStatus.pending, 0, again.created_at
    assert dispatcher.run_once() == 1
    assert len(wecom.uploads) == 3 and wecom.sent[-1].body["image"]["media_id"] == wecom.uploads[-1].media_id


def test_the_fake_wecom_refuses_what_wecom_refuses(app, wecom):
    client = wecom_client(app, wecom)
    token = client.token()
    send = lambda media_id: client.http.post(  # noqa: E731
        f"{wecom.base_url}/cgi-bin/message/send", params={"access_token": token},
        json={"touser": "wangfang", "msgtype": "image", "agentid": wecom.agent_id, "image": {"media_id": media_id}}).json()
    upload = lambda kind, name, data, mime: client.http.post(  # noqa: E731
        f"{wecom.base_url}/cgi-bin/media/upload", params={"access_token": token, "type": kind},
        files={"media": (name, data, mime)}).json()
    assert send("3never-uploaded")["errcode"] == 40007
    assert upload("image", "x.xlsx", xlsx_attachment().content, XLSX_MIME)["errcode"] == 40005  # not JPG/PNG
    assert upload("image", "big.png", png() + b"\0" * (10 * 1024 * 1024), "image/png")["errcode"] == 40009
    assert upload("file", "tiny.txt", b"abc", "text/plain")["errcode"] == 40006  # 5 bytes or fewer
    assert upload("sticker", "a.png", png(), "image/png")["errcode"] == 40004
    wecom.expire_tokens()
    assert upload("image", "a.png", png(), "image/png")["errcode"] == 42001
    assert wecom.uploads == []


def test_an_expired_token_on_upload_costs_one_new_token(app, wecom):
    client = wecom_client(app, wecom)
    client.token()
    wecom.expire_tokens()
    queue(app, "wecom", "wangfang", Reply("", attachments=[image_attachment()]))
    assert Dispatcher(app.db, {"wecom": client}).run_once() == 1
    assert wecom.token_requests == 2 and [u.data for u in wecom.uploads] == [png()]


# -- WeCom group robot ---------------------------------------------------------------------------
def test_a_wecom_group_robot_gets_the_image_inline_and_the_file_by_upload_media(settings, tmp_path, wecom):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "channels.yaml").write_text(
        "channels:\n  - name: risk-desk\n    type: wecom_webhook\n"
        f"    url: {wecom.base_url}/cgi-bin/webhook/send?key=desk-key\n"
        "    levels: [warning]\n    teams: ['*']\n", encoding="utf-8")
    bot = App(settings.model_copy(update={"config_dir": folder})).ready()
    try:
        queue(bot, "wecom_webhook", "risk-desk", report())
        assert Dispatcher(bot.db, build_senders(bot)).run_once() == 1
    finally:
        bot.close()
    text, image, file = wecom.webhook_messages["desk-key"]
    assert text["msgtype"] == "markdown"
    assert base64.b64decode(image["image"]["base64"]) == png()
    [upload] = wecom.uploads
    assert upload.owner == "robot:desk-key" and upload.data == xlsx_attachment().content
    assert file["file"]["media_id"] == upload.media_id


# -- DingTalk ------------------------------------------------------------------------------------
@pytest.fixture
def dingtalk():
    with FakeDingTalk(webhooks={"ding-token": "SECding"}) as fake:
        yield fake


def ding_sender(app, fake) -> DingTalkSender:
    return DingTalkSender(app.db, api_base=fake.base_url, client_id=fake.app_key, client_secret=fake.app_secret,
                          robot_code=fake.robot_code)


def test_an_image_and_a_file_reach_a_dingtalk_user_through_media_upload(app, dingtalk):
    message = queue(app, "dingtalk", "manager001", report())
    assert Dispatcher(app.db, {"dingtalk": ding_sender(app, dingtalk)}).run_once() == 1
    image, sheet = dingtalk.uploads
    assert (image["type"], image["filename"], image["data"]) == ("image", "风险度-20261118.png", png())
    assert (sheet["type"], sheet["filename"], sheet["data"]) == ("file", "margin-20261118.xlsx",
                                                                  xlsx_attachment().content)
    text, picture, file = dingtalk.robot_messages
    assert text["msgKey"] == "sampleText" and text["userIds"] == ["manager001"]
    assert picture["msgKey"] == "sampleImageMsg" and picture["msgParam"] == {"photoURL": image["media_id"]}
    assert file["msgKey"] == "sampleFile" and file["msgParam"] == {
        "mediaId": sheet["media_id"], "fileName": "margin-20261118.xlsx", "fileType": "xlsx"}
    assert row(app, message).status == OutboxStatus.delivered


def test_a_dingtalk_upload_after_a_5xx_is_retried_and_a_stale_token_renewed_once(app, dingtalk):
    dingtalk.fail_next("/media/upload", 502, {"message": "bad gateway"})
    message = queue(app, "dingtalk", "manager001", Reply("日报", attachments=[xlsx_attachment()]))
    sender = ding_sender(app, dingtalk)
    dispatcher = Dispatcher(app.db, {"dingtalk": sender}, base_delay=0)
    assert dispatcher.run_once() == 0
    assert "HTTP 502" in row(app, message).last_error
    dingtalk.expire_tokens()
    assert dispatcher.run_once() == 1
    assert [m["msgKey"] for m in dingtalk.robot_messages] == ["sampleText", "sampleFile"]
    assert dingtalk.token_requests == 2 and [u["data"] for u in dingtalk.uploads] == [xlsx_attachment().content]


def test_the_fake_dingtalk_refuses_an_unknown_media_id_and_a_wrong_file_type(app, dingtalk):
    sender = ding_sender(app, dingtalk)
    token = sender.token()
    status, answer, _ = sender._call("POST", f"{dingtalk.base_url}/v1.0/robot/oToMessages/batchSend",
                                     headers={"x-acs-dingtalk-access-token": token},
                                     json={"robotCode": dingtalk.robot_code, "userIds": ["manager001"],
                                           "msgKey": "sampleImageMsg", "msgParam": '{"photoURL": "@lAnever"}'})
    assert status == 400 and answer["code"] == "invalidParameter.mediaId"
    _, answer, _ = sender._call("POST", f"{dingtalk.base_url}/media/upload",
                                params={"access_token": token, "type": "file"},
                                files={"media": ("run.exe", b"MZ" + b"\0" * 64, "application/octet-stream")})
    assert answer["errcode"] == 40005 and dingtalk.uploads == []


def test_a_dingtalk_custom_robot_says_it_cannot_send_the_file_and_logs_why(settings, tmp_path, dingtalk, caplog):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "channels.yaml").write_text(
        "channels:\n  - name: risk-ding\n    type: dingtalk_webhook\n"
        f"    url: {dingtalk.base_url}/robot/send?access_token=ding-token\n    secret: SECding\n"
        "    levels: [warning]\n    teams: ['*']\n", encoding="utf-8")
    bot = App(settings.model_copy(update={"config_dir": folder})).ready()
    try:
        queue(bot, "dingtalk_webhook", "risk-ding", Reply("日报", attachments=[xlsx_attachment()]))
        with caplog.at_level(logging.WARNING, logger="brokerbot.webhooks"):
            assert Dispatcher(bot.db, build_senders(bot)).run_once() == 1
    finally:
        bot.close()
    text, note = [m["text"]["content"] for m in dingtalk.webhook_messages]
    assert text == "日报" and note == "📎 margin-20261118.xlsx 未随本消息发出：钉钉群机器人不能发送文件。"
    assert "cannot upload" in caplog.text and dingtalk.uploads == []


# -- Slack ---------------------------------------------------------------------------------------
@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def test_an_image_and_a_file_reach_a_slack_user_through_files_upload_v2(app, slack):
    sender = SlackSender(WebClient(token=slack.token, base_url=slack.base_url, timeout=5))
    message = queue(app, "slack", "U0MANAGER1", report())
    assert Dispatcher(app.db, {"slack": sender}).run_once() == 1
    [posted] = slack.posted
    assert posted["text"] == "张三 11月18日 保证金日报"
    image, sheet = slack.shared_files
    assert (image["filename"], image["channel"], image["data"]) == ("风险度-20261118.png", "D0MANAGER1", png())
    assert (sheet["filename"], sheet["channel"], sheet["data"]) == ("margin-20261118.xlsx", "D0MANAGER1",
                                                                    xlsx_attachment().content)
    assert [c.api for c in slack.calls if c.api.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"] * 2
    assert row(app, message).status == OutboxStatus.delivered


def test_a_slack_upload_url_answering_503_is_retried(app, slack):
    sender = SlackSender(WebClient(token=slack.token, base_url=slack.base_url, timeout=5))
    slack.upload_failures.append(503)
    message = queue(app, "slack", "C0RISKDESK", Reply("", attachments=[xlsx_attachment()]))
    dispatcher = Dispatcher(app.db, {"slack": sender}, base_delay=0)
    assert dispatcher.run_once() == 0 and row(app, message).status == OutboxStatus.pending
    assert dispatcher.run_once() == 1
    [shared] = slack.shared_files
    assert shared["channel"] == "C0RISKDESK" and shared["data"] == xlsx_attachment().content


def test_the_fake_slack_refuses_to_share_a_file_whose_bytes_never_arrived(slack):
    client = WebClient(token=slack.token, base_url=slack.base_url)
    url = client.files_getUploadURLExternal(filename="a.pdf", length=10)
    with pytest.raises(Exception, match="file_not_found"):
        client.files_completeUploadExternal(files=[{"id": url["file_id"], "title": "a"}], channel_id="C0X")


# -- terminal ------------------------------------------------------------------------------------
def test_the_terminal_saves_attachments_to_a_folder_and_prints_their_paths(tmp_path):
    sheet = xlsx_attachment()
    chat = TerminalSession("wangfang", lambda event: Reply("日报如下", attachments=[sheet]), now=None, tz=None,
                           attachments_dir=tmp_path / "attachments", saved_line=lambda p: f"saved {p}")
    out = io.StringIO()
    run_lines(chat, ["日报", "日报"], out)
    first, second = tmp_path / "attachments" / "margin-20261118.xlsx", tmp_path / "attachments" / "margin-20261118 (2).xlsx"
    assert first.read_bytes() == sheet.content and second.read_bytes() == sheet.content  # nothing overwritten
    assert f"日报如下\nsaved {first}" in out.getvalue() and f"saved {second}" in out.getvalue()


def test_an_attachment_must_be_an_image_or_a_file_with_a_bare_name():
    with pytest.raises(ValueError):
        Attachment(kind="video", filename="a.mp4", content=b"x", mime="video/mp4")
    with pytest.raises(ValueError):
        Attachment(kind="file", filename="../etc/passwd", content=b"x", mime="text/plain")
