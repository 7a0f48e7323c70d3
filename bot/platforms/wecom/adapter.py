"""WeCom (企业微信) self-built app callback: URL check, encrypted messages and card clicks.

Deadlines (WeCom docs, checked 2026; STYLE.md): the URL check must be answered within 1 s and a
message within 5 s, or WeCom retries up to three times. This adapter answers every message
within ACK_DEADLINE: with the encrypted passive reply when the pipeline is done by then, else
with an empty 200, and the reply follows through the outbox (message/send). A reply with choices
always goes through the outbox, as a button card. Message ids are MsgId, events' FromUserName +
CreateTime, and a click's once_key its card and person: the pipeline's dedupe answers a retry once,
a card one click from each person, and a refused click (not theirs to decide) none.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidSignatureException

from bot.delivery import deliver
from bot.events import ChatEvent
from intents.rules import language_of
from messaging.replies import Reply
from notifiers.wecom import button_text, enqueue_reply, find_card

log = logging.getLogger("brokerbot.wecom")
ACK_DEADLINE = 0.8  # seconds: leaves room under the 1 s a person and the platform will wait


@dataclass(frozen=True)
class Click:
    """A button on a template card (Event=template_card_event)."""
    task_id: str
    response_code: str
    key: str


def _event(xml: str) -> tuple[ChatEvent | None, Click | None]:
    msg = parse_message(xml)
    raw = msg._data  # template_card_event is "unknown" to wechatpy 1.8; its fields are here
    now = datetime.now(timezone.utc)
    user = raw.get("FromUserName", "")
    if msg.type == "text":
        return ChatEvent("wecom", f"msg:{raw.get('MsgId')}", user, raw.get("Content", ""), now), None
    if raw.get("Event") == "template_card_event":  # the button's key is the answer ("1", "确认")
        key = raw.get("EventKey", "")
        task = raw.get("TaskId", "")  # one person's click cannot use up another's
        return (ChatEvent("wecom", f"event:{user}:{raw.get('CreateTime')}", user, key, now,
                          once_key=f"card:{task}:{user}" if task else None),
                Click(task, raw.get("ResponseCode", ""), key))
    return None, None  # enter_agent and other events need no answer


def router(service, *, token: str, aes_key: str, corp_id: str) -> APIRouter:
    crypto = WeChatCrypto(token, aes_key, corp_id)
    workers = ThreadPoolExecutor(max_workers=16, thread_name_prefix="wecom")
    db, messages = service.app.db, service.app.messages
    api = APIRouter()

    @api.get("/wecom/callback")
    def verify(msg_signature: str, timestamp: str, nonce: str, echostr: str):
        try:
            return PlainTextResponse(crypto.check_signature(msg_signature, timestamp, nonce, echostr))
        except InvalidSignatureException:
            return PlainTextResponse("invalid signature", status_code=403)

    def queue(session, target: str, reply: Reply) -> None:
        enqueue_reply(session=session, target=target, reply=reply)

    def send_later(event: ChatEvent, future) -> None:
        reply = future.result()
        if reply is not None:  # None: a retry of a message already taken
            deliver(service, event, reply, queue=queue)

    def answer_click(event: ChatEvent, click: Click) -> None:
        """The card is updated (its buttons give way to the choice), then the answer follows as an app
        message: WeCom's passive reply to template_card_event is a card update, not text (被动回复消息格式,
        模板卡片更新消息; checked 2026). A click the pipeline refuses (someone else's approval card,
        forwarded or stale) changes nothing: the card keeps its buttons."""
        with db.session() as session:
            body, newest = find_card(session=session, target=event.user_id, task_id=click.task_id)
        lang = language_of((body or {}).get("text", "")) or language_of(click.key) or "zh"
        update = getattr(service.senders.get("wecom"), "update_card", None)
        if body is not None and not newest:  # an older card: its numbers belong to another question
            reply = service.pipeline.once(event, lambda: Reply(messages.t("card_stale", lang)))
        else:
            reply = service.pipeline.handle(event)
        if reply is None:
            log.info("another click on card %s from %s ignored: the card was answered", click.task_id, event.user_id)
            return
        if body is not None and not newest:
            if update is not None:
                update(event.user_id, click.response_code, messages.t("card_button_stale", lang))
        elif not reply.refused and update is not None:
            picked = next((c for c in (body or {}).get("choices", []) if str(c["value"]) == click.key), None)
            label = button_text(picked) if picked else click.key
            update(event.user_id, click.response_code, messages.t("choice_made", lang, label=label))
        deliver(service, event, reply, queue=queue)

    def logged(work, *args) -> None:
        try:
            work(*args)
        except Exception:  # a worker's exception would vanish with its future
            log.exception("WeCom background work failed")

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
        event, click = _event(xml)
        if event is None:
            return PlainTextResponse("")  # enter_agent and other events need no answer
        if click is not None:
            workers.submit(logged, answer_click, event, click)
            return PlainTextResponse("")
        # The claim and the answer share the deadline: a slow database delays neither WeCom's ack
        # (a late ack makes WeCom retry) nor the answer, which then follows through the outbox.
        future = workers.submit(service.pipeline.handle, event)  # None: a retry of what was taken
        try:
            reply = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), ACK_DEADLINE)
        except asyncio.TimeoutError:
            future.add_done_callback(lambda f: workers.submit(logged, send_later, event, f))
            return PlainTextResponse("")
        if reply is None:
            return PlainTextResponse("")  # a retry of what was taken
        if reply.choices or reply.attachments:  # buttons need a card, files an upload: app messages
            workers.submit(logged, send_later, event, future)
            return PlainTextResponse("")
        answer = TextReply(source=corp_id, target=event.user_id, content=reply.text).render()
        return Response(crypto.encrypt_message(answer, nonce, timestamp), media_type="application/xml")

    return api
