"""The endpoints of the fake WeCom API (tests/fakes/wecom_server.py): each takes the fake, the query
and the raw body, and returns the JSON answer. Called with the fake's lock held.

Error codes are WeCom's global ones (全局错误码, developer.work.weixin.qq.com/document/path/90313).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from tests.fakes import multipart

INVALID_CREDENTIAL, INVALID_CORPID, INVALID_TOKEN, TOKEN_EXPIRED = 40001, 40013, 40014, 42001
MISSING_TOKEN, SYSTEM_BUSY, FREQ_LIMIT = 41001, -1, 45009
INVALID_MSGTYPE, INVALID_AGENTID, EMPTY_CONTENT, BAD_JSON = 40008, 40056, 44004, 47001
ALL_RECIPIENTS_INVALID, INVALID_WEBHOOK_KEY = 81013, 93000
# Not in the public docs (searched 2026): the errcode for a reused, unknown or expired response_code,
# and for a task_id the app already used. The fake answers 40058 (全局错误码: 不合法的参数) for both.
INVALID_PARAMETER = RESPONSE_CODE_USED = DUPLICATE_TASK_ID = 40058

# Uploads (上传临时素材 path/90253; group robot upload_media path/91770; 全局错误码 path/90313, whose
# codes 40004 invalid media type, 40005 invalid file type, 40006 invalid file size, 40007 invalid
# media_id, 40009 invalid image size and 44001 empty media are WeChat's shared ones, checked 2026
# against third-party copies of the table only). The robot's image md5 mismatch code is not
# documented: the fake answers 40058 invalid parameter.
INVALID_MEDIA_TYPE, INVALID_FILE_TYPE, INVALID_FILE_SIZE, INVALID_MEDIA_ID = 40004, 40005, 40006, 40007
INVALID_IMAGE_SIZE, EMPTY_MEDIA = 40009, 44001
MB = 1024 * 1024
APP_MEDIA_LIMITS = {"image": 10 * MB, "voice": 2 * MB, "video": 10 * MB, "file": 20 * MB}
ROBOT_MEDIA_LIMITS = {"file": 20 * MB, "voice": 2 * MB}
ROBOT_IMAGE_MAX = 2 * MB
MEDIA_TTL = 3 * 86400
RESPONSE_CODE_TTL = 72 * 3600
TASK_ID = re.compile(r"[0-9A-Za-z_\-@]+")
APP_MSGTYPES = {"text", "markdown", "template_card", "textcard", "news", "mpnews", "image", "file"}
ROBOT_MSGTYPES = {"text", "markdown", "markdown_v2", "template_card", "news", "image", "file"}
# Group robot content limits in UTF-8 bytes (path/91770); longer gets 40058, as the live server answers
# "markdown.content exceed max length 4096. invalid Request Parameter" (quoted in public issues, 2024).
ROBOT_MAX_BYTES = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}
OK = {"errcode": 0, "errmsg": "ok"}


@dataclass
class Upload:
    media_id: str
    type: str
    filename: str | None
    content_type: str
    data: bytes
    at: float
    owner: str  # "app" or "robot:<key>": a robot's media is its own


@dataclass
class Delivery:
    user: str  # the member (or "party:<id>"/"tag:<id>") the message was for
    msgid: str
    msgtype: str
    body: dict
    at: float


def _json(raw: bytes):
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def gettoken(fake, query: dict, raw: bytes) -> dict:
    fake.token_requests += 1
    if query.get("corpid") != fake.corp_id:
        return fake.error(INVALID_CORPID, "invalid corpid")
    if query.get("corpsecret") != fake.secret:
        return fake.error(INVALID_CREDENTIAL, "invalid credential")
    token = secrets.token_urlsafe(48)
    fake.tokens[token] = fake.now() + fake.token_ttl
    return {**OK, "access_token": token, "expires_in": fake.token_ttl}


def _content_error(fake, body: dict, msgtype: str) -> dict | None:
    part = body.get(msgtype)
    if not isinstance(part, dict):
        return fake.error(INVALID_PARAMETER, f"invalid Request Parameter, {msgtype} missing")
    if msgtype in {"text", "markdown", "markdown_v2"} and not str(part.get("content") or "").strip():
        return fake.error(EMPTY_CONTENT, "empty content")
    if msgtype == "template_card":
        return _card_error(fake, part, need_task_id=True)
    return None


def _media_error(fake, body: dict, msgtype: str, owner: str) -> dict | None:
    """An image or file message must name a media id this app (or robot) uploaded, within 3 days."""
    media_id = (body.get(msgtype) or {}).get("media_id")
    upload = fake.media.get(media_id or "")
    if upload is None or upload.owner != owner or fake.now() - upload.at > MEDIA_TTL:
        return fake.error(INVALID_MEDIA_ID, f"invalid media_id, {media_id}")
    return None


def _upload(fake, query: dict, raw: bytes, content_type: str, limits: dict, owner: str) -> dict:
    media_type = query.get("type")
    if media_type not in limits:
        return fake.error(INVALID_MEDIA_TYPE, "invalid media type")
    part = multipart.field(multipart.parse(content_type, raw), "media")
    if part is None or not part.data:
        return fake.error(EMPTY_MEDIA, "empty media data")
    size = len(part.data)
    if media_type == "image":
        if multipart.image_format(part.data) not in ("png", "jpg"):
            return fake.error(INVALID_FILE_TYPE, "invalid file type, image must be JPG or PNG")
        if size > limits["image"]:
            return fake.error(INVALID_IMAGE_SIZE, "invalid image size")
    if size <= 5 or size > limits[media_type]:
        return fake.error(INVALID_FILE_SIZE, "invalid file size")
    media_id = "3" + secrets.token_urlsafe(48)
    fake.media[media_id] = upload = Upload(media_id, media_type, part.filename, part.content_type, part.data,
                                           fake.now(), owner)
    fake.uploads.append(upload)
    return {**OK, "type": media_type, "media_id": media_id, "created_at": str(int(upload.at))}


def media_upload(fake, query: dict, raw: bytes, content_type: str = "") -> dict:
    if (err := fake._token_error(query)) is not None:
        return err
    return _upload(fake, query, raw, content_type, APP_MEDIA_LIMITS, "app")


def webhook_upload_media(fake, query: dict, raw: bytes, content_type: str = "") -> dict:
    key = query.get("key") or ""
    if not key or (fake.webhook_keys is not None and key not in fake.webhook_keys):
        return fake.error(INVALID_WEBHOOK_KEY, "invalid webhook url")
    return _upload(fake, query, raw, content_type, ROBOT_MEDIA_LIMITS, f"robot:{key}")


def _robot_image_error(fake, body: dict) -> dict | None:
    image = body.get("image") or {}
    try:
        data = base64.b64decode(str(image.get("base64") or ""), validate=True)
    except (binascii.Error, ValueError):
        return fake.error(INVALID_PARAMETER, "invalid Request Parameter, image.base64")
    if not data:
        return fake.error(EMPTY_MEDIA, "empty media data")
    if hashlib.md5(data).hexdigest() != str(image.get("md5") or "").lower():
        return fake.error(INVALID_PARAMETER, "invalid Request Parameter, image.md5 not match")
    if multipart.image_format(data) not in ("png", "jpg"):
        return fake.error(INVALID_FILE_TYPE, "invalid file type, image must be JPG or PNG")
    if len(data) > ROBOT_IMAGE_MAX:
        return fake.error(INVALID_IMAGE_SIZE, "invalid image size")
    return None


def _card_error(fake, card: dict, need_task_id: bool) -> dict | None:
    """The hard rules of a button_interaction card (发送应用消息, 模板卡片消息, path/90236, 2026): a
    task_id of digits, letters and "_-@", at most 128 bytes, never reused; 1 to 6 buttons, each with
    text and a key of at most 1024 bytes, no two keys alike; a title or a sub_title_text; at most
    6 horizontal_content_list rows. Recommended lengths (a title of 36 characters...) are not rules."""
    if card.get("card_type") != "button_interaction":
        return None  # other card types are accepted as they are
    buttons, task_id = card.get("button_list"), card.get("task_id")
    if (need_task_id and not (isinstance(task_id, str) and TASK_ID.fullmatch(task_id)
                              and len(task_id.encode()) <= 128)) \
            or not isinstance(buttons, list) or not 1 <= len(buttons) <= 6 \
            or not all(isinstance(b, dict) and b.get("key") and b.get("text")
                       and len(str(b["key"]).encode()) <= 1024 for b in buttons) \
            or len({str(b["key"]) for b in buttons}) != len(buttons):
        return fake.error(INVALID_PARAMETER, "invalid Request Parameter, template_card.task_id or button_list")
    title = card.get("main_title")
    if not ((isinstance(title, dict) and str(title.get("title") or "").strip())
            or str(card.get("sub_title_text") or "").strip()) or len(card.get("horizontal_content_list") or []) > 6:
        return fake.error(INVALID_PARAMETER, "invalid Request Parameter, template_card.main_title")
    if need_task_id and card["task_id"] in fake.task_ids:
        return fake.error(DUPLICATE_TASK_ID, "invalid Request Parameter, task_id exists")
    return None


def _app_call(fake, query: dict, raw: bytes) -> tuple[dict | None, dict | None]:
    """(body, None) for a well-formed app API call, else (None, the error answer)."""
    if (err := fake._token_error(query)) is not None:
        return None, err
    body = _json(raw)
    if body is None:
        return None, fake.error(BAD_JSON, "data format error")
    if str(body.get("agentid")) != str(fake.agent_id):
        return None, fake.error(INVALID_AGENTID, "invalid agentid")
    return body, None


def message_send(fake, query: dict, raw: bytes) -> dict:
    body, err = _app_call(fake, query, raw)
    if err is not None:
        return err
    msgtype = body.get("msgtype")
    if msgtype not in APP_MSGTYPES:
        return fake.error(INVALID_MSGTYPE, "invalid message type")
    if (err := _content_error(fake, body, msgtype)) is not None:
        return err
    if msgtype in {"image", "file"} and (err := _media_error(fake, body, msgtype, "app")) is not None:
        return err
    users = [u for u in str(body.get("touser") or "").split("|") if u]
    invalid = [u for u in users if fake.users is not None and u not in fake.users and u != "@all"]
    targets = [u for u in users if u not in invalid]
    targets += [f"party:{p}" for p in str(body.get("toparty") or "").split("|") if p]
    targets += [f"tag:{t}" for t in str(body.get("totag") or "").split("|") if t]
    if not targets:
        return fake.error(ALL_RECIPIENTS_INVALID, "user & party & tag all invalid")
    msgid = secrets.token_urlsafe(24)
    for user in targets:
        delivery = Delivery(user, msgid, msgtype, body, fake.now())
        if body.get("enable_duplicate_check") and any(  # WeCom accepts a repeat and drops it silently
                d.user == user and d.body.get(msgtype) == body.get(msgtype)
                and fake.now() - d.at < int(body.get("duplicate_check_interval") or 1800) for d in fake.sent):
            continue
        ok = fake._allow(fake._user_times[user], [(60, fake.per_user_minute), (3600, fake.per_user_hour)])
        (fake.sent if ok else fake.dropped).append(delivery)
    answer = {**OK, "invaliduser": "|".join(invalid), "invalidparty": "", "invalidtag": "",
              "unlicenseduser": "", "msgid": msgid}
    if msgtype == "template_card":
        fake.task_ids.add(body["template_card"].get("task_id", ""))
        answer["response_code"] = fake.new_response_code()
    return answer


def update_template_card(fake, query: dict, raw: bytes) -> dict:
    body, err = _app_call(fake, query, raw)
    if err is not None:
        return err
    code = body.get("response_code")
    issued = fake.response_codes.get(code)
    if issued is None or fake.now() - issued > RESPONSE_CODE_TTL:
        return fake.error(RESPONSE_CODE_USED, "invalid Request Parameter, response_code used or expired")
    button, card = body.get("button"), body.get("template_card")
    if not (isinstance(button, dict) and button.get("replace_name")) and not isinstance(card, dict):
        return fake.error(INVALID_PARAMETER, "invalid Request Parameter, button or template_card")
    if isinstance(card, dict) and (err := _card_error(fake, card, need_task_id=False)) is not None:
        return err
    del fake.response_codes[code]
    fake.card_updates.append({**body, "at": fake.now()})
    return {**OK, "invaliduser": []}


def webhook_send(fake, query: dict, raw: bytes) -> dict:
    key = query.get("key") or ""
    if not key or (fake.webhook_keys is not None and key not in fake.webhook_keys):
        return fake.error(INVALID_WEBHOOK_KEY, "invalid webhook url")
    body = _json(raw)
    if body is None:
        return fake.error(BAD_JSON, "data format error")
    msgtype = body.get("msgtype")
    if msgtype not in ROBOT_MSGTYPES:
        return fake.error(INVALID_MSGTYPE, "invalid message type")
    if msgtype in {"text", "markdown", "markdown_v2"} and (err := _content_error(fake, body, msgtype)):
        return err
    if msgtype == "image" and (err := _robot_image_error(fake, body)):
        return err
    if msgtype == "file" and (err := _media_error(fake, body, msgtype, f"robot:{key}")):
        return err
    limit = ROBOT_MAX_BYTES.get(msgtype)
    if limit and len(str(body[msgtype]["content"]).encode()) > limit:
        return fake.error(INVALID_PARAMETER, f"{msgtype}.content exceed max length {limit}. invalid Request Parameter")
    if not fake._allow(fake._hook_times[key], [(60, fake.webhook_minute)]):
        return fake.error(FREQ_LIMIT, "api freq out of limit")
    fake.webhook_messages[key].append({**body, "at": fake.now()})
    return dict(OK)


ROUTES = {
    ("GET", "/cgi-bin/gettoken"): gettoken,
    ("POST", "/cgi-bin/message/send"): message_send,
    ("POST", "/cgi-bin/message/update_template_card"): update_template_card,
    ("POST", "/cgi-bin/webhook/send"): webhook_send,
}
# uploads read the multipart body, so they also get the request's Content-Type
UPLOAD_ROUTES = {
    ("POST", "/cgi-bin/media/upload"): media_upload,
    ("POST", "/cgi-bin/webhook/upload_media"): webhook_upload_media,
}
