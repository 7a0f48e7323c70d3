"""The DingTalk Stream gateway on loopback, for the official dingtalk-stream SDK (checked against 0.24.3).

Protocol, from the SDK's stream.py / frames.py and open.dingtalk.com "Stream 模式协议" (2026):
1. POST {OPENAPI}/v1.0/gateway/connections/open {clientId, clientSecret, subscriptions: [{type, topic}],
   ua, localIp} -> {"endpoint": "wss://...", "ticket": "..."};
2. WebSocket to `{endpoint}?ticket={ticket}`; the server pushes frames {"specVersion": "1.0", "type":
   "SYSTEM"|"EVENT"|"CALLBACK", "headers": {"appId", "connectionId", "contentType", "messageId", "time",
   "topic", ...}, "data": "<JSON string>"};
3. the client acks each with {"code": 200, "headers": {"contentType": "application/json", "messageId"},
   "message": "OK", "data": "<JSON string>"}; a message not acked in time is pushed again (same
   messageId here); a SYSTEM frame with topic "disconnect" makes the SDK reconnect from step 1.
Robot messages are CALLBACK frames on /v1.0/im/bot/messages/get; card clicks on /v1.0/card/instances/callback.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


class StreamGateway:
    """Attach to a running FakeDingTalk: `with StreamGateway(fake, ack_timeout=0.3) as gateway: ...`."""

    def __init__(self, fake, *, ack_timeout: float | None = None):
        self.fake = fake
        self.ack_timeout = ack_timeout  # seconds before an unacked frame is pushed again; None: never
        self.opens: list[dict] = []  # bodies of connections/open
        self.tickets: dict[str, list[dict]] = {}  # unused ticket -> its subscriptions
        self.connections: list = []
        self.sent: list[dict] = []  # every frame pushed, redeliveries included
        self.acks: dict[str, dict] = {}  # messageId -> the client's ack
        self.pending: dict[str, tuple[dict, float]] = {}  # messageId -> (frame, last sent, monotonic)
        self.changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-dingtalk-stream", daemon=True)
        self.port = 0

    # -- HTTP side: called by FakeDingTalk for /v1.0/gateway/connections/open ------------------------
    def open_connection(self, body: dict) -> tuple[int, dict]:
        self.opens.append(body)
        if body.get("clientId") != self.fake.app_key or body.get("clientSecret") != self.fake.app_secret:
            return 400, {"requestid": uuid.uuid4().hex, "code": "invalidClientIdOrSecret",
                         "message": "无效的clientId或者clientSecret"}
        ticket = uuid.uuid4().hex
        self.tickets[ticket] = list(body.get("subscriptions") or [])
        return 200, {"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": ticket}

    # -- pushing -----------------------------------------------------------------------------------
    def frame(self, kind: str, topic: str, data: dict, **headers) -> dict:
        return {"specVersion": "1.0", "type": kind, "headers": {
            "appId": self.fake.app_key, "connectionId": uuid.uuid4().hex, "contentType": "application/json",
            "messageId": f"{uuid.uuid4().hex[:8]}_{uuid.uuid4().hex[:6]}", "time": str(self.fake.now_ms()),
            "topic": topic, **headers}, "data": json.dumps(data, ensure_ascii=False)}

    def push(self, frame: dict) -> str:
        """Send a frame to every live connection; returns its messageId."""
        asyncio.run_coroutine_threadsafe(self._send(frame), self.loop).result(5)
        return frame["headers"]["messageId"]

    def push_bot_message(self, message: dict) -> str:
        return self.push(self.frame("CALLBACK", BOT_TOPIC, message))

    def push_card_click(self, out_track_id: str, user_id: str, params: dict, action_id: str = "action") -> str:
        data = {"outTrackId": out_track_id, "userId": user_id, "corpId": "dingfakecorp", "type": "actionCallback",
                "spaceType": "im", "spaceId": user_id, "extension": "{}",
                "content": json.dumps({"cardPrivateData": {"actionIds": [action_id], "params": params}})}
        return self.push(self.frame("CALLBACK", CARD_TOPIC, data))

    def disconnect(self) -> str:
        return self.push(self.frame("SYSTEM", "disconnect", {"reason": "fake gateway asks to reconnect"}))

    def wait(self, predicate, timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def wait_connected(self, count: int = 1, timeout: float = 5.0) -> bool:
        return self.wait(lambda: len(self.connections) >= count, timeout)

    def wait_ack(self, message_id: str, timeout: float = 5.0) -> dict | None:
        self.wait(lambda: message_id in self.acks, timeout)
        return self.acks.get(message_id)

    def deliveries(self, message_id: str) -> int:
        return sum(1 for f in self.sent if f["headers"]["messageId"] == message_id)

    # -- the WebSocket server ------------------------------------------------------------------------
    async def _send(self, frame: dict) -> None:
        text = json.dumps(frame, ensure_ascii=False)
        for connection in list(self.connections):
            await connection.send(text)
        with self.changed:
            self.sent.append(frame)
            if frame["type"] != "SYSTEM":
                self.pending[frame["headers"]["messageId"]] = (frame, time.monotonic())
            self.changed.notify_all()

    def _check_ticket(self, connection, request):
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        if self.tickets.pop(ticket, None) is None:
            return connection.respond(401, "invalid ticket\n")
        return None

    async def _serve(self, connection) -> None:
        with self.changed:
            self.connections.append(connection)
            self.changed.notify_all()
        try:
            async for raw in connection:
                ack = json.loads(raw)
                message_id = (ack.get("headers") or {}).get("messageId")
                with self.changed:
                    if message_id and ack.get("code") == 200:
                        self.acks[message_id] = ack
                        self.pending.pop(message_id, None)
                    self.changed.notify_all()
        finally:
            with self.changed:
                self.connections.remove(connection)
                self.changed.notify_all()

    async def _redeliver(self) -> None:
        while True:
            await asyncio.sleep(min(self.ack_timeout / 4, 0.05))
            due = [f for f, sent in list(self.pending.values()) if time.monotonic() - sent >= self.ack_timeout]
            for frame in due:
                if self.connections:
                    await self._send(frame)

    async def _start(self):
        server = await serve(self._serve, "127.0.0.1", 0, process_request=self._check_ticket)
        self.port = server.sockets[0].getsockname()[1]
        if self.ack_timeout:
            self._redeliver_task = asyncio.ensure_future(self._redeliver())
        return server

    def __enter__(self) -> "StreamGateway":
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        self.fake.gateway = self
        return self

    def __exit__(self, *exc) -> None:
        self.fake.gateway = None

        async def stop():
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
