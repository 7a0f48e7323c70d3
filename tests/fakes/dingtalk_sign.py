"""DingTalk signatures and the robot message callback body, as DingTalk builds them.

Both signatures are Base64(HmacSHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")), timestamps in
milliseconds and accepted within one hour (open.dingtalk.com "自定义机器人安全设置" and "接收消息 /
HTTP 回调", checked 2026 against DingtalkChatbot's chatbot.py):
- HTTP-mode robot callbacks carry it in the headers `timestamp` and `sign` (key: the app secret);
- custom group robot webhooks carry it URL-encoded in the query: `&timestamp=..&sign=..` (key: SEC...).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import quote_plus

from tests.fakes.loopback import SignedRequest

ONE_HOUR_MS = 3_600_000


def sign(secret: str, timestamp_ms: int | str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def valid(secret: str, timestamp_ms: int | str | None, signature: str | None, now_ms: int) -> bool:
    if not timestamp_ms or not signature or not str(timestamp_ms).isdigit():
        return False
    if abs(now_ms - int(timestamp_ms)) > ONE_HOUR_MS:
        return False
    return hmac.compare_digest(sign(secret, timestamp_ms), signature)


def signed_webhook_url(base_url: str, access_token: str, secret: str, timestamp_ms: int | None = None) -> str:
    """`{base}/robot/send?access_token=..&timestamp=..&sign=..` as a custom group robot is called."""
    ts = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    return (f"{base_url.rstrip('/')}/robot/send?access_token={quote_plus(access_token)}"
            f"&timestamp={ts}&sign={quote_plus(sign(secret, ts))}")




def bot_message(*, text: str, sender_staff_id: str, session_webhook: str, session_webhook_expired_time: int,
                robot_code: str, sender_nick: str = "张经理", conversation_type: str = "1",
                conversation_id: str | None = None, msg_id: str | None = None, create_at: int | None = None,
                corp_id: str = "dingfakecorp", conversation_title: str | None = None) -> dict:
    """The robot message callback (接收消息): the same JSON is POSTed in HTTP mode and is the `data`
    of a Stream-mode CALLBACK frame on topic /v1.0/im/bot/messages/get. conversationType "1" is a
    one-to-one chat, "2" a group."""
    now = int(time.time() * 1000) if create_at is None else create_at
    body = {
        "conversationId": conversation_id or f"cid{uuid.uuid4().hex[:22]}==", "atUsers": [],
        "chatbotCorpId": corp_id, "chatbotUserId": f"$:LWCP_v1:${uuid.uuid4().hex[:24]}",
        "msgId": msg_id or f"msg{uuid.uuid4().hex[:22]}==", "senderNick": sender_nick, "isAdmin": False,
        "senderStaffId": sender_staff_id, "sessionWebhookExpiredTime": session_webhook_expired_time,
        "createAt": now, "senderCorpId": corp_id, "conversationType": conversation_type,
        "senderId": f"$:LWCP_v1:${uuid.uuid5(uuid.NAMESPACE_OID, sender_staff_id).hex[:24]}",
        "sessionWebhook": session_webhook, "text": {"content": text}, "robotCode": robot_code, "msgtype": "text",
    }
    if conversation_type == "2":
        body["conversationTitle"] = conversation_title or "客户服务群"
        body["isInAtList"] = True
        body["atUsers"] = [{"dingtalkId": body["chatbotUserId"]}]
    return body


def signed_callback(app_secret: str, message: dict, *, timestamp_ms: int | None = None) -> SignedRequest:
    """An HTTP-mode robot callback: the JSON body and its `timestamp` / `sign` headers."""
    ts = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    return SignedRequest(json.dumps(message, ensure_ascii=False).encode(),
                          {"Content-Type": "application/json; charset=utf-8", "timestamp": str(ts),
                           "sign": sign(app_secret, ts)})
