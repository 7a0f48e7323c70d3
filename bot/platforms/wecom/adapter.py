"""WeCom (企业微信) self-built app callback: URL check, encrypted messages and card clicks.

Deadlines (WeCom docs, checked 2026; STYLE.md): the URL check must be answered within 1 s and a
message within 5 s, or WeCom retries up to three times. A message is accepted into the inbox
(bot.inbox: kept in the database) and then acked with an empty 200; a database that cannot keep it
gets a 503, so WeCom retries. The answer always follows through the outbox (message/send, or a
button card for choices), queued in the answer's own transaction: there is no passive reply,
which would leave the outbox and be lost if the response never reached WeCom. Message ids are
MsgId, events' FromUserName + CreateTime, and a click's once_key its card and person: a retry is
answered once, a card one click from each person, and a refused click (not theirs to decide) none.

Outsiders (issue 12): the signature is checked before anything is parsed. msg_signature =
sha1(sorted [token, timestamp, nonce, Encrypt]) covers the encrypted payload, so the Encrypt field
is cut out of the raw body with a bounded pattern (no XML parser sees an unsigned body); a
callback whose signed timestamp is further than REPLAY_WINDOW from now is refused, so a captured
callback cannot be replayed once its id could have been forgotten (crm_core/inbox.py keeps ids a
week). Decryption and the inner XML's parse (defusedxml: no entities, no DTD) run on a worker
thread, never on the event loop; a signed message that is not a well-formed WeCom message gets a
400, not a 500. The body size is limited in bot/http.py.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from defusedxml import ElementTree
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.events import ChatEvent
from intents.rules import language_of
from messaging.replies import Reply
from notifiers.wecom import button_text, enqueue_reply, find_card

log = logging.getLogger("brokerbot.wecom")
# How far a callback's signed timestamp may be from our clock. WeCom's docs give no window. WeCom
# retries a message three times within about 15 s, so its retries are seconds old; five minutes
# either side (Slack's choice) leaves room for that and for clock skew, and is far shorter than
# the week crm_core/inbox.py keeps a message id: a replay is either refused here or found taken.
REPLAY_WINDOW = 300  # seconds
# The Encrypt field of the outer envelope, cut out without an XML parser (the body is at most
# 64 KB: bot/http.py). WeCom sends it as CDATA; plain text is accepted too.
ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=]{1,65536})\]\]>|([A-Za-z0-9+/=]{1,65536}))\s*</Encrypt>")


class Malformed(ValueError):
    """Signed, but not a WeCom message this adapter can read."""


def fresh(timestamp: str, now: float) -> bool:
    return timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 \
        and abs(now - int(timestamp)) <= REPLAY_WINDOW


def signed(token: str, signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def fields(xml: str) -> dict[str, str]:
    """The inner message's fields (<xml><MsgType>…</MsgType>…</xml>), parsed by defusedxml."""
    try:
        root = ElementTree.fromstring(xml)
    except Exception as exc:  # ParseError, EntitiesForbidden, DTDForbidden…
        raise Malformed(f"unreadable message XML: {type(exc).__name__}") from exc
    data = {child.tag: (child.text or "").strip() for child in root if isinstance(child.tag, str)}
    if root.tag != "xml" or not data.get("MsgType"):
        raise Malformed("not a WeCom message (no MsgType)")
    return data


@dataclass(frozen=True)
class Click:
    """A button on a template card (Event=template_card_event)."""
    task_id: str
    response_code: str
    key: str


def _event(raw: dict[str, str]) -> tuple[ChatEvent | None, Click | None]:
    now = datetime.now(timezone.utc)
    user = raw.get("FromUserName", "")
    if not user:
        return None, None
    if raw["MsgType"].lower() == "text":
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
    cipher = PrpCrypto(crypto.key)
    workers = ThreadPoolExecutor(max_workers=16, thread_name_prefix="wecom")
    db, messages = service.app.db, service.app.messages
    api = APIRouter()

    def open_(encrypt: str) -> str:
        """The plaintext of a signed Encrypt field; Malformed when it does not decrypt to ours."""
        try:
            return cipher.decrypt(encrypt, corp_id)
        except Exception as exc:  # not base64, bad padding, another corp id, not UTF-8
            raise Malformed(f"undecryptable: {type(exc).__name__}") from exc

    def refused(msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> PlainTextResponse | None:
        if not signed(token, msg_signature, timestamp, nonce, encrypt):
            return PlainTextResponse("invalid signature", status_code=403)
        if not fresh(timestamp, time.time()):
            return PlainTextResponse("stale or future timestamp", status_code=403)
        return None

    @api.get("/wecom/callback")
    def verify(msg_signature: str, timestamp: str, nonce: str, echostr: str):
        if (answer := refused(msg_signature, timestamp, nonce, echostr)) is not None:
            return answer
        try:
            return PlainTextResponse(open_(echostr))
        except Malformed:
            log.warning("signed WeCom URL check with an unreadable echostr")
            return PlainTextResponse("bad request", status_code=400)

    def queue(session, target: str, reply: Reply) -> None:
        enqueue_reply(session=session, target=target, reply=reply)

    service.inbox.route("wecom", lambda _route: queue)

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
            reply = service.pipeline.handle(event, queue=queue, answer=lambda: Reply(messages.t("card_stale", lang)))
        else:
            reply = service.pipeline.handle(event, queue=queue)
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
        service.dispatcher.run_once()

    def logged(work, *args) -> None:
        try:
            work(*args)
        except Exception:  # a worker's exception would vanish with its future
            log.exception("WeCom background work failed")

    @api.post("/wecom/callback")
    async def receive(request: Request, msg_signature: str, timestamp: str, nonce: str):
        found = ENCRYPT.search(await request.body())
        if found is None:  # nothing WeCom signed: refused before any parse
            return PlainTextResponse("invalid signature", status_code=403)
        encrypt = (found.group(1) or found.group(2)).decode("ascii")
        if (answer := refused(msg_signature, timestamp, nonce, encrypt)) is not None:
            return answer
        try:
            raw = await asyncio.wrap_future(workers.submit(lambda: fields(open_(encrypt))))
        except Malformed as exc:
            log.warning("signed WeCom callback refused: %s", exc)
            return PlainTextResponse("bad request", status_code=400)
        event, click = _event(raw)
        if event is None:
            return PlainTextResponse("")  # enter_agent and other events need no answer
        if click is not None:
            workers.submit(logged, answer_click, event, click)
            return PlainTextResponse("")
        try:  # kept before WeCom is told it arrived; a database that cannot keep it: WeCom retries
            await asyncio.wrap_future(workers.submit(service.inbox.take, event))
        except Exception:
            log.warning("WeCom message %s could not be accepted; WeCom will retry", event.message_id, exc_info=True)
            return PlainTextResponse("try again", status_code=503)
        return PlainTextResponse("")

    return api
