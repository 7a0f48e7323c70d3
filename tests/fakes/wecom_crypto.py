"""WeCom callback crypto and payloads, written from WeCom's 加解密方案说明 with `cryptography`, apart
from wechatpy, so the adapter (which uses wechatpy) is checked against a second implementation.

msg_signature = sha1(sorted [token, timestamp, nonce, encrypt] joined); AESKey = b64decode(EncodingAESKey
+ "="); AES-256-CBC, IV = AESKey[:16], PKCS#7 padded to 32-byte blocks; plaintext = 16 random bytes +
4-byte big-endian length + msg + ReceiveId (the corp id for a self-built app).
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16


class SignatureError(ValueError):
    pass


def aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (32 bytes once decoded)")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, str(timestamp), str(nonce), encrypt])).encode()).hexdigest()


def encrypt(encoding_aes_key: str, msg: str | bytes, receive_id: str, random16: bytes | None = None) -> str:
    key = aes_key(encoding_aes_key)
    body = msg.encode() if isinstance(msg, str) else msg
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def decrypt(encoding_aes_key: str, b64: str) -> tuple[str, str]:
    """(msg, receive_id) from a base64 ciphertext."""
    key = aes_key(encoding_aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(b64)) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK:
        raise ValueError("bad PKCS#7 padding")
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20:20 + length].decode(), plain[20 + length:].decode()


def cdata(value: object) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_message_xml(*, corp_id: str, from_user: str, content: str, msg_id: int | str,
                     agent_id: int, create_time: int | None = None) -> str:
    """A member's text message, as WeCom pushes it (before encryption)."""
    return (f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def card_event_xml(*, corp_id: str, from_user: str, event_key: str, task_id: str, response_code: str,
                   agent_id: int, card_type: str = "button_interaction", create_time: int | None = None) -> str:
    """A click on a template card button (Event=template_card_event), before encryption."""
    return (f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType>{cdata('event')}</MsgType>"
            f"<Event>{cdata('template_card_event')}</Event><EventKey>{cdata(event_key)}</EventKey>"
            f"<TaskId>{cdata(task_id)}</TaskId><CardType>{cdata(card_type)}</CardType>"
            f"<ResponseCode>{cdata(response_code)}</ResponseCode><AgentID>{agent_id}</AgentID></xml>")


@dataclass
class CallbackClient:
    """Plays WeCom's side of the callback: builds signed, encrypted requests for the product's URL
    and opens the product's encrypted passive replies."""
    token: str
    encoding_aes_key: str
    corp_id: str
    agent_id: int = 1000002

    def _stamp(self, timestamp: int | str | None, nonce: str | None) -> tuple[str, str]:
        return str(timestamp or int(time.time())), nonce or str(secrets.randbelow(10**10))

    def verify_url_params(self, echo: str | None = None, *, timestamp=None, nonce=None) -> dict:
        """Query of the URL check (GET); the product must answer with `echo` as plain text."""
        timestamp, nonce = self._stamp(timestamp, nonce)
        echostr = encrypt(self.encoding_aes_key, echo or str(secrets.randbelow(10**19)), self.corp_id)
        return {"msg_signature": signature(self.token, timestamp, nonce, echostr),
                "timestamp": timestamp, "nonce": nonce, "echostr": echostr}

    def envelope(self, plain_xml: str, *, timestamp=None, nonce=None) -> tuple[dict, str]:
        """(query, body) of an encrypted POST callback carrying `plain_xml`."""
        timestamp, nonce = self._stamp(timestamp, nonce)
        enc = encrypt(self.encoding_aes_key, plain_xml, self.corp_id)
        body = (f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName><Encrypt>{cdata(enc)}</Encrypt>"
                f"<AgentID>{cdata(self.agent_id)}</AgentID></xml>")
        return {"msg_signature": signature(self.token, timestamp, nonce, enc),
                "timestamp": timestamp, "nonce": nonce}, body

    def text(self, from_user: str, content: str, msg_id: int | str, create_time: int | None = None, **kw):
        return self.envelope(text_message_xml(corp_id=self.corp_id, from_user=from_user, content=content,
                                              msg_id=msg_id, agent_id=self.agent_id,
                                              create_time=create_time), **kw)

    def card_click(self, from_user: str, *, event_key: str, task_id: str, response_code: str,
                   card_type: str = "button_interaction", create_time: int | None = None, **kw):
        return self.envelope(card_event_xml(corp_id=self.corp_id, from_user=from_user, event_key=event_key,
                                            task_id=task_id, response_code=response_code,
                                            agent_id=self.agent_id, card_type=card_type,
                                            create_time=create_time), **kw)

    def open_reply(self, reply: str | bytes) -> str:
        """The plaintext XML inside the product's passive reply, after checking its MsgSignature
        (reply XML: Encrypt, MsgSignature, TimeStamp, Nonce) and its ReceiveId."""
        root = ET.fromstring(reply)
        enc, sig = root.findtext("Encrypt") or "", root.findtext("MsgSignature") or ""
        ts, nonce = root.findtext("TimeStamp") or "", root.findtext("Nonce") or ""
        if signature(self.token, ts, nonce, enc) != sig:
            raise SignatureError("passive reply MsgSignature does not match")
        msg, receive_id = decrypt(self.encoding_aes_key, enc)
        if receive_id != self.corp_id:
            raise SignatureError(f"reply encrypted for {receive_id!r}, not {self.corp_id!r}")
        return msg


def parse_xml(xml: str) -> dict[str, str]:
    """Top-level fields of a plaintext message/reply XML."""
    return {child.tag: (child.text or "") for child in ET.fromstring(xml)}
