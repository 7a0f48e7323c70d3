"""DingTalk Stream mode: one long connection to the gateway, in a thread of its own, that hands each
robot message and card click over and returns, so the SDK acks the frame at once (dingtalk-stream
0.24.3: it acks a CALLBACK frame only after process() returns, and the gateway pushes a frame
again when its ack is late)."""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Callable

log = logging.getLogger("brokerbot.dingtalk")
stream_log = logging.getLogger("brokerbot.dingtalk.stream")  # the SDK's own messages

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
FRAME_ID = "_frameMessageId"  # the Stream frame's messageId, added to a click's data: the same on a redelivery


def point_sdk_at(api_base: str):
    """dingtalk_stream, talking to api_base. The SDK reads DINGTALK_OPENAPI_ENDPOINT once, at import,
    into module globals and DingTalkStreamClient.OPEN_CONNECTION_API, so both are set here too."""
    os.environ["DINGTALK_OPENAPI_ENDPOINT"] = api_base
    import dingtalk_stream
    from dingtalk_stream import card_replier, chatbot, stream, utils

    for module in (utils, stream, chatbot, card_replier):
        module.DINGTALK_OPENAPI_ENDPOINT = api_base
    dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API = api_base + "/v1.0/gateway/connections/open"
    return dingtalk_stream


class Stream:
    def __init__(self, client_id: str, client_secret: str, api_base: str, *,
                 on_message: Callable[[dict], None], on_click: Callable[[dict], None]):
        self.client_id, self.client_secret, self.api_base = client_id, client_secret, api_base
        self.on_message, self.on_click = on_message, on_click
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sdk = point_sdk_at(self.api_base)

        self._stopping = threading.Event()
        self._quiet = logging.Filter()
        self._quiet.filter = lambda record: not self._stopping.is_set()  # the SDK logs a stop as an error
        stream_log.addFilter(self._quiet)
        client = sdk.DingTalkStreamClient(sdk.Credential(self.client_id, self.client_secret), logger=stream_log)
        client.register_callback_handler(BOT_TOPIC, _acking(sdk, lambda data, _: self.on_message(data)))
        client.register_callback_handler(CARD_TOPIC, _acking(
            sdk, lambda data, frame: self.on_click({**data, FRAME_ID: frame})))
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(client.start())
        self._thread = threading.Thread(target=self._run, name="dingtalk-stream", daemon=True)
        self._thread.start()
        log.info("DingTalk Stream client started")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._task)
        except BaseException:  # cancelled by stop
            pass
        finally:
            leftovers = asyncio.all_tasks(self._loop)  # the SDK's keepalive pings
            for task in leftovers:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self._loop.close()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + 10
        # DingTalkStreamClient.start() catches one CancelledError and sleeps, so cancel until it ends.
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:  # the loop closed in between
                break
            self._thread.join(0.05)
        stream_log.removeFilter(self._quiet)
        self._thread = None



def _acking(sdk, hand_over: Callable[[dict, str | None], None]):
    """A Stream handler that hands the frame's data and messageId over and returns, so the SDK acks
    at once."""

    class Acking(sdk.CallbackHandler):
        async def process(self, callback):
            try:
                hand_over(callback.data, callback.headers.message_id)
            except Exception:  # not kept (the database is down): not acked as done, so it is pushed again
                log.warning("DingTalk frame %s not accepted; the gateway will push it again",
                            callback.headers.message_id, exc_info=True)
                return sdk.AckMessage.STATUS_SYSTEM_EXCEPTION, {}
            return sdk.AckMessage.STATUS_OK, {}

    return Acking()
