"""WeCom (企业微信) self-built app callback: URL check, encrypted messages and card clicks.

Deadlines (WeCom docs, checked 2026; STYLE.md): the URL check must be answered within 1 s and a
message within 5 s, or WeCom retries up to three times. This adapter answers every message
within ACK_DEADLINE: with the encrypted passive reply when the pipeline is done by then, else
with an empty 200, and the reply follows through the outbox (message/send). Messages are
claimed by MsgId, events by FromUserName + CreateTime, so a retry never doubles a reply.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidSignatureException

from bot.events import ChatEvent
from crm_core.inbox import claim
from notifiers.outbox import enqueue

log = logging.getLogger("brokerbot.wecom")
ACK_DEADLINE = 0.8  # seconds: leaves room under the 1 s a person and the platform will wait


def _event(xml: str) -> ChatEvent | None:
    msg = parse_message(xml)
    raw = msg._data  # template_card_event is "unknown" to wechatpy 1.8; its fields are here
    now = datetime.now(timezone.utc)
    if msg.type == "text":
        return ChatEvent("wecom", f"msg:{raw.get('MsgId')}", raw["FromUserName"], raw.get("Content", ""), now)
    if raw.get("Event") == "template_card_event":  # a button: its key is the answer ("1", "确认")
        return ChatEvent("wecom", f"event:{raw['FromUserName']}:{raw.get('CreateTime')}", raw["FromUserName"],
                         raw.get("EventKey", ""), now)
    return None  # enter_agent and other events need no answer


def router(service, *, token: str, aes_key: str, corp_id: str) -> APIRouter:
    crypto = WeChatCrypto(token, aes_key, corp_id)
    workers = ThreadPoolExecutor(max_workers=16, thread_name_prefix="wecom")
    api = APIRouter()

    @api.get("/wecom/callback")
    def verify(msg_signature: str, timestamp: str, nonce: str, echostr: str):
        try:
            return PlainTextResponse(crypto.check_signature(msg_signature, timestamp, nonce, echostr))
        except InvalidSignatureException:
            return PlainTextResponse("invalid signature", status_code=403)

    def claimed(event: ChatEvent) -> bool:
        with service.app.db.transaction() as session:
            return claim(session=session, platform="wecom", key=event.message_id, now=event.received_at)

    def send_later(event: ChatEvent, future) -> None:
        reply = future.result()  # the pipeline never raises: its errors become a reply
        with service.app.db.transaction() as session:
            enqueue(session=session, channel="wecom", target=event.user_id, reply=reply)
        service.dispatcher.run_once()

    @api.post("/wecom/callback")
    async def receive(request: Request, msg_signature: str, timestamp: str, nonce: str):
        body = await request.body()
        try:
            xml = crypto.decrypt_message(body, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            return PlainTextResponse("invalid signature", status_code=403)
        except Exception:  # not XML, wrong key, wrong corp id
            log.warning("undecryptable WeCom callback", exc_info=True)
            return PlainTextResponse("bad request", status_code=400)
        event = _event(xml)
        loop = asyncio.get_running_loop()
        if event is None or not await loop.run_in_executor(workers, claimed, event):
            return PlainTextResponse("")  # nothing to say, or a retry of what was taken
        future = workers.submit(service.pipeline.handle, event)
        try:
            reply = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), ACK_DEADLINE)
        except asyncio.TimeoutError:
            future.add_done_callback(lambda f: workers.submit(send_later, event, f))
            return PlainTextResponse("")
        if reply.choices:  # buttons need a template card: sent as an app message
            workers.submit(send_later, event, future)
            return PlainTextResponse("")
        answer = TextReply(source=corp_id, target=event.user_id, content=reply.text).render()
        return Response(crypto.encrypt_message(answer, nonce, timestamp), media_type="application/xml")

    return api
