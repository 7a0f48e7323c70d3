"""Requests as Slack sends them to an app: signed Events API bodies and interactivity payloads.

Signing (docs.slack.dev "Verifying requests from Slack", checked 2026 against
slack_sdk.signature.SignatureVerifier 3.47): X-Slack-Signature = "v0=" + hex HMAC-SHA256(signing
secret, f"v0:{timestamp}:{raw body}"), X-Slack-Request-Timestamp in seconds, accepted within 5 minutes.
Slack retries an event it got no 2xx for within 3 s up to three times, adding X-Slack-Retry-Num (1..3)
and X-Slack-Retry-Reason (http_timeout, http_error, ...); the body, and so event_id, stay the same.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

from tests.fakes.loopback import SignedRequest

TEAM_ID = "T0FAKETEAM"
API_APP_ID = "A0FAKEAPP"




def signature(signing_secret: str, timestamp: int | str, body: bytes | str) -> str:
    raw = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(signing_secret.encode(), f"v0:{timestamp}:{raw}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def sign(signing_secret: str, body: bytes | str, *, content_type: str = "application/json",
         timestamp: int | None = None, retry_num: int | None = None,
         retry_reason: str = "http_timeout") -> SignedRequest:
    raw = body.encode() if isinstance(body, str) else body
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts),
               "X-Slack-Signature": signature(signing_secret, ts, raw)}
    if retry_num:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return SignedRequest(raw, headers)


def retry_of(request: SignedRequest, signing_secret: str, retry_num: int, *, timestamp: int | None = None,
             reason: str = "http_timeout") -> SignedRequest:
    """Slack's redelivery of the same body, signed again, with the retry headers."""
    return sign(signing_secret, request.body, content_type=request.headers["Content-Type"], timestamp=timestamp,
                retry_num=retry_num, retry_reason=reason)


def dm_message(signing_secret: str, *, user: str, text: str, channel: str = "D0FAKEDM1",
               event_id: str | None = None, ts: str | None = None, timestamp: int | None = None,
               team: str = TEAM_ID) -> SignedRequest:
    """An event_callback carrying a direct message to the bot (message.im)."""
    now = int(time.time()) if timestamp is None else int(timestamp)
    ts = ts or f"{now}.{uuid.uuid4().int % 1_000_000:06d}"
    event = {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text, "ts": ts,
             "event_ts": ts, "client_msg_id": str(uuid.uuid4()), "team": team,
             "blocks": [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [
                 {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]}
    body = {"token": "deprecated-verification-token", "team_id": team, "context_team_id": team,
            "api_app_id": API_APP_ID, "event": event, "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": now,
            "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": "U0FAKEBOT", "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": f"4-{uuid.uuid4().hex}"}
    return sign(signing_secret, json.dumps(body, ensure_ascii=False), timestamp=timestamp)


def url_verification(signing_secret: str, *, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                     timestamp: int | None = None) -> SignedRequest:
    body = {"token": "deprecated-verification-token", "challenge": challenge, "type": "url_verification"}
    return sign(signing_secret, json.dumps(body), timestamp=timestamp)


def block_actions(signing_secret: str, *, user: str, action_id: str, value: str, message_ts: str,
                  channel: str = "D0FAKEDM1", response_url: str = "https://hooks.slack.com/actions/T0/1/x",
                  block_id: str = "choices", timestamp: int | None = None, team: str = TEAM_ID) -> SignedRequest:
    """A button click: form-encoded `payload=<json>`, as Slack posts it to the interactivity URL."""
    now = int(time.time()) if timestamp is None else int(timestamp)
    payload = {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": API_APP_ID, "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{now}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
        "team": {"id": team, "domain": "fake"}, "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "bot_id": "B0FAKEBOT", "text": ""},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                     "text": {"type": "plain_text", "text": value[:20], "emoji": True},
                     "action_ts": f"{now}.{uuid.uuid4().int % 1_000_000:06d}"}],
    }
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)})
    return sign(signing_secret, body, content_type="application/x-www-form-urlencoded", timestamp=timestamp)
