"""WeCom (企业微信) app messages: access token shared by every replica, one retry on a stale token.

wechatpy's client retries token errors without limit and has no default timeout (STYLE.md,
2026), so the API calls here use httpx directly with a timeout on every call; wechatpy is kept
for the callback crypto and parsing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import httpx

from crm_core.base import utcnow
from crm_core.outbox import PlatformToken
from notifiers.outbox import DeliveryError

log = logging.getLogger("brokerbot.wecom")

STALE_TOKEN = {40014, 42001}  # invalid / expired access_token: fetch a new one, once
TRANSIENT = {-1, 45009, 45033}  # system busy, frequency limits
EARLY = timedelta(minutes=5)  # renew a token this long before WeCom says it expires


class WeComClient:
    def __init__(self, db, *, api_base: str, corp_id: str, secret: str, agent_id: str, timeout: float = 5.0):
        self.db = db
        self.api_base = api_base.rstrip("/")
        self.corp_id, self.secret, self.agent_id = corp_id, secret, int(agent_id)
        self.key = f"wecom:{corp_id}:{agent_id}"
        self.http = httpx.Client(timeout=timeout)

    # -- token ------------------------------------------------------------------------------
    def token(self, *, refresh: bool = False) -> str:
        now = utcnow()
        with self.db.transaction() as session:
            row = session.get(PlatformToken, self.key)
            if row is not None and not refresh and row.expires_at - EARLY > now:
                return row.token
        data = self._call("GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})
        if data.get("errcode"):
            raise DeliveryError(f"gettoken: {data.get('errcode')} {data.get('errmsg')}",
                                transient=data.get("errcode") in TRANSIENT)
        expires = now + timedelta(seconds=int(data.get("expires_in", 7200)))
        with self.db.transaction() as session:
            row = session.get(PlatformToken, self.key)
            if row is None:
                session.add(PlatformToken(key=self.key, token=data["access_token"], expires_at=expires))
            else:
                row.token, row.expires_at = data["access_token"], expires
        log.info("new WeCom access token, valid until %s", expires.isoformat())
        return data["access_token"]

    # -- calls ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, self.api_base + path, **kwargs)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{path}: timed out") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"{path}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise DeliveryError(f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise DeliveryError(f"{path}: HTTP {response.status_code}, not JSON") from exc

    def api(self, path: str, payload: dict) -> dict:
        """POST with the shared token; a stale token is replaced once, never in a loop."""
        for attempt in (1, 2):
            data = self._call("POST", path, params={"access_token": self.token(refresh=attempt == 2)}, json=payload)
            code = data.get("errcode", 0)
            if code in STALE_TOKEN and attempt == 1:
                continue
            if code:
                raise DeliveryError(f"{path}: {code} {data.get('errmsg', '')}"[:500], transient=code in TRANSIENT)
            return data
        raise AssertionError("unreachable")

    def send(self, target: str, body: dict) -> str | None:
        """notifiers.outbox.Sender: a text message to one member."""
        text = body.get("text") or ""
        if body.get("title"):
            text = f"{body['title']}\n{text}"
        # enable_duplicate_check: WeCom drops a repeat of the same content within the interval,
        # so a retry after a send that went through but timed out is not delivered twice
        # (message/send docs: duplicate_check_interval up to 4 h, default 1800 s).
        data = self.api("/cgi-bin/message/send", {"touser": target, "msgtype": "text", "agentid": self.agent_id,
                                                  "text": {"content": text}, "enable_duplicate_check": 1,
                                                  "duplicate_check_interval": 1800})
        if data.get("invaliduser"):
            raise DeliveryError(f"not a member of the app: {data['invaliduser']}", transient=False)
        return data.get("msgid")

    def close(self) -> None:
        self.http.close()
