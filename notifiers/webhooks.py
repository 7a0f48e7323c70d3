"""Group robots as outbox channels: `wecom_webhook` and `dingtalk_webhook`. The outbox target is
the channel's name in channels.yaml; the robot's URL and secret are looked up there at send time.
A `slack_channel` needs no sender of its own: it is queued for the Slack sender with its channel id
(notifiers.channels.Channel.outbox).

A message too long for one post is cut into several, between messages where it can (the outbox
joins merged messages with a blank line). Robots answer no message id, so `send` returns None.

Facts (checked 2026):
- WeCom group robot (developer.work.weixin.qq.com/document/path/91770): markdown content at most
  4096 bytes of UTF-8; 20 messages a minute, more get errcode 45009; a longer content gets 40058
  "markdown.content exceed max length 4096" (answer of the live server, quoted in public issues).
- DingTalk custom robot (open.dingtalk.com 自定义机器人): sign = Base64(HmacSHA256(secret,
  f"{timestamp_ms}\\n{secret}")), URL-encoded, appended with the timestamp; 20 messages a minute,
  then throttled for 10 minutes (660026 on the live server, 130101 in older docs); 310000 for a bad
  sign, timestamp, keyword or IP, 300005 for an unknown access_token; bodies up to 20000 bytes
  (460101 "message too long, exceed 20000 bytes").
- Images and files (STYLE.md, 2026): a WeCom group robot takes an image inline as
  {"msgtype": "image", "image": {"base64", "md5"}} (JPG or PNG, at most 2 MB before encoding; md5 of the
  bytes), and a file uploaded first with POST .../cgi-bin/webhook/upload_media?key=KEY&type=file
  (multipart part "media", 5 bytes to 20 MB; answers {"errcode": 0, "type", "media_id",
  "created_at"}, the id valid 3 days) then {"msgtype": "file", "file": {"media_id"}}. A larger
  image goes as a file. A DingTalk custom robot cannot upload anything (an image only by a public URL
  inside markdown, and brokerbot publishes none): it posts a line saying the attachment was not sent
  with the message, and the skip is logged as a warning.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
import hmac
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from crm_core.base import utcnow
from notifiers.media import Media, send_in_parts
from notifiers.outbox import PER_MINUTE, DeliveryError, Sender

from notifiers.channels import Channel, Channels

log = logging.getLogger("brokerbot.webhooks")
REMEMBER = 900.0  # seconds a piece posted by a failed send is skipped by its retry


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def split(text: str, limit: int, seps: tuple[str, ...] = ("\n\n", "\n")) -> list[str]:
    """`text` in pieces of at most `limit` UTF-8 bytes, cut at blank lines, else at line ends, else
    between characters. Pieces that are full stay the same when more text is appended."""
    if size(text) <= limit:
        return [text] if text.strip() else []
    if not seps:
        pieces, current, used = [], "", 0
        for char in text:
            if used + size(char) > limit:
                pieces.append(current)
                current, used = "", 0
            current, used = current + char, used + size(char)
        return pieces + [current]
    sep, pieces, current = seps[0], [], ""
    for part in text.split(sep):
        for chunk in split(part, limit, seps[1:]):
            joined = f"{current}{sep}{chunk}" if current else chunk
            if size(joined) <= limit:
                current = joined
            else:
                pieces.append(current)
                current = chunk
    return [p for p in pieces + [current] if p.strip()]


class RobotSender:
    """What both robots share: the channel by name, long texts in several posts, and a memory of
    throttling so a robot is not called while it is known to refuse.

    Per channel, at most PER_MINUTE posts in any minute: a send that needs more stops there and
    asks to be retried; the posts that went through are remembered, so the retry skips them
    instead of posting them twice (in this process; after a restart they may repeat)."""

    type: str
    limit: int  # bytes of text per post

    def __init__(self, channels: Channels, *, timeout: float = 5.0, clock: Callable[[], float] = time.time,
                 note: Callable[[str], str] | None = None):
        self.channels = channels
        # the line posted instead of an attachment the robot cannot send (messages.yaml, via the app)
        self.note = note or (lambda filename: f"📎 {filename}")
        self.http = httpx.Client(timeout=timeout)
        self.clock = clock
        self.per_minute = PER_MINUTE[self.type]
        self._posts: dict[str, deque] = defaultdict(deque)  # channel name -> recent post times
        self._quiet_until: dict[str, float] = {}
        self._posted: dict[str, dict[str, float]] = {}  # name -> {piece digest: when}, of failed sends

    def send(self, target: str, body: dict) -> str | None:
        """notifiers.outbox.Sender: `target` is a channel name in channels.yaml."""
        channel = self.channels.get(target)
        if channel is None or channel.type != self.type:
            raise DeliveryError(f"no {self.type} channel named {target!r} in channels.yaml", transient=False)
        now = self.clock()
        remembered = {d: t for d, t in self._posted.pop(target, {}).items() if t > now - REMEMBER}
        sent: dict[str, float] = {}  # pieces of this body that are in the chat, now or from before

        def text() -> None:
            for piece in self.pieces(body):
                digest = hashlib.sha256(piece.encode()).hexdigest()
                if digest in remembered:  # posted by an earlier attempt that failed after it
                    sent[digest] = remembered.pop(digest)
                    continue
                self._wait_turn(target)
                self.post(channel, piece)
                self._posts[target].append(self.clock())
                sent[digest] = self.clock()

        def media(item) -> None:
            self._wait_turn(target)
            self.post_media(channel, item)
            self._posts[target].append(self.clock())

        try:
            send_in_parts(body, text, media)  # the text, then each attachment, once
        except DeliveryError as exc:
            if exc.transient:
                remembered.update(sent)
            if exc.transient and exc.retry_after:
                self._quiet_until[target] = self.clock() + exc.retry_after
            raise
        finally:
            if remembered:
                self._posted[target] = remembered
        return None

    def pieces(self, body: dict) -> list[str]:
        title = self.heading(body.get("title"))
        parts = split(body.get("text") or "", self.limit - size(title))
        return [title + part for part in parts] or ([title.strip()] if title.strip() else [])

    def heading(self, title: str | None) -> str:
        return f"{title}\n" if title else ""

    def _wait_turn(self, target: str) -> None:
        now = self.clock()
        quiet = self._quiet_until.get(target, 0.0) - now
        if quiet > 0:
            raise DeliveryError(f"{self.type} {target}: throttled by the platform, waiting", retry_after=quiet)
        posts = self._posts[target]
        while posts and posts[0] <= now - 60:
            posts.popleft()
        if len(posts) >= self.per_minute:
            raise DeliveryError(f"{self.type} {target}: {self.per_minute} posts in the last minute",
                                retry_after=posts[0] + 60 - now)

    def call(self, channel: Channel, url: str, payload: dict) -> dict:
        """POST the JSON (UTF-8, not \\u escapes: the limits count bytes); the answer's JSON."""
        where = f"{self.type} {channel.name}"
        try:
            response = self.http.post(url, content=json.dumps(payload, ensure_ascii=False).encode(),
                                      headers={"Content-Type": "application/json; charset=utf-8"})
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{where}: timed out") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            retry = response.headers.get("Retry-After", "")
            raise DeliveryError(f"{where}: HTTP {response.status_code}",
                                retry_after=float(retry) if retry.isdigit() else None)
        try:
            return response.json()
        except ValueError as exc:
            raise DeliveryError(f"{where}: HTTP {response.status_code}, not JSON",
                                transient=response.status_code < 400) from exc

    def post(self, channel: Channel, text: str) -> None:
        raise NotImplementedError

    def post_media(self, channel: Channel, media: Media) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.http.close()


class WeComRobotSender(RobotSender):
    type = "wecom_webhook"
    limit = 4096
    FREQ_LIMIT, BUSY = 45009, -1

    def heading(self, title: str | None) -> str:
        return f"**{title}**\n" if title else ""

    def post(self, channel: Channel, text: str) -> None:
        data = self.call(channel, channel.url, {"msgtype": "markdown", "markdown": {"content": text}})
        code = data.get("errcode", 0)
        reason = f"{self.type} {channel.name}: {code} {data.get('errmsg', '')}"[:500]
        if code == self.FREQ_LIMIT:  # 20 a minute: the next minute frees a turn
            raise DeliveryError(reason, retry_after=60)
        if code:
            raise DeliveryError(reason, transient=code == self.BUSY)

    IMAGE_MAX, FILE_MAX, MEDIA_TTL = 2 * 1024 * 1024, 20 * 1024 * 1024, timedelta(days=3)

    def post_media(self, channel: Channel, media: Media) -> None:
        if media.kind == "image" and media.mime in ("image/png", "image/jpeg") and len(media.content) <= self.IMAGE_MAX:
            payload = {"msgtype": "image", "image": {"base64": base64.b64encode(media.content).decode(),
                                                     "md5": hashlib.md5(media.content).hexdigest()}}
        else:
            payload = {"msgtype": "file", "file": {"media_id": self.upload(channel, media)}}
        self._answer(channel, self.call(channel, channel.url, payload))

    def _answer(self, channel: Channel, data: dict) -> None:
        code = data.get("errcode", 0)
        reason = f"{self.type} {channel.name}: {code} {data.get('errmsg', '')}"[:500]
        if code == self.FREQ_LIMIT:
            raise DeliveryError(reason, retry_after=60)
        if code:
            raise DeliveryError(reason, transient=code == self.BUSY)

    def upload(self, channel: Channel, media: Media) -> str:
        """The robot's media_id for this file: the cached one while valid, else upload_media."""
        parts = urlsplit(channel.url)
        robot = parse_qs(parts.query).get("key", [""])[0]
        key = f"wecom_webhook:{robot}"
        if (cached := media.cached_id(key)) is not None:
            return cached
        if len(media.content) > self.FILE_MAX:
            raise DeliveryError(f"{self.type} {channel.name}: {media.filename} is over {self.FILE_MAX} bytes",
                                transient=False)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path.replace("/webhook/send", "/webhook/upload_media"),
                          urlencode({"key": robot, "type": "file"}), ""))
        where = f"{self.type} {channel.name} upload_media"
        try:
            response = self.http.post(url, files={"media": (media.filename, media.content, media.mime)})
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{where}: timed out") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"{where}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise DeliveryError(f"{where}: HTTP {response.status_code}, not JSON") from exc
        self._answer(channel, data)
        if not data.get("media_id"):
            raise DeliveryError(f"{where}: no media_id in the answer")
        created = int(data.get("created_at") or 0)
        start = datetime.fromtimestamp(created, tz=timezone.utc) if created else utcnow()
        media.remember(key, data["media_id"], start + self.MEDIA_TTL)
        return data["media_id"]


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkRobotSender(RobotSender):
    type = "dingtalk_webhook"
    limit = 18000  # of the 20000-byte body, room for the JSON around the text
    THROTTLED, BUSY = {660026, 130101}, -1
    PENALTY = 600.0  # seconds of silence after the 21st message in a minute

    def post(self, channel: Channel, text: str) -> None:
        timestamp = int(self.clock() * 1000)
        url = f"{channel.url}&timestamp={timestamp}&sign={quote_plus(dingtalk_sign(channel.secret, timestamp))}"
        data = self.call(channel, url, {"msgtype": "text", "text": {"content": text}})
        code = data.get("errcode", 0)
        reason = f"{self.type} {channel.name}: {code} {data.get('errmsg', '')}"[:500]
        if code in self.THROTTLED:
            raise DeliveryError(reason, retry_after=self.PENALTY)
        if code:
            raise DeliveryError(reason, transient=code == self.BUSY)

    def post_media(self, channel: Channel, media: Media) -> None:
        """A custom robot cannot upload: the group reads a line saying so, and the log has it."""
        log.warning("%s %s: %s (%s, %s bytes) not sent: a DingTalk custom robot cannot upload files",
                    self.type, channel.name, media.filename, media.mime, len(media.content))
        self.post(channel, self.note(media.filename))


def channel_senders(app) -> dict[str, Sender]:
    """The group-robot senders, for bot.service.build_senders."""
    channels: Channels = app.channels
    if channels.of_type("slack_channel") and not app.settings.slack_bot_token:
        log.warning("channels.yaml names Slack channels (%s) but Slack is not configured "
                    "(BROKERBOT_SLACK_BOT_TOKEN); their messages wait in the outbox",
                    ", ".join(c.name for c in channels.of_type("slack_channel")))
    def note(filename: str) -> str:
        return app.messages.t("attachment_not_sent_by_robot", filename=filename)

    return {"wecom_webhook": WeComRobotSender(channels), "dingtalk_webhook": DingTalkRobotSender(channels, note=note)}
