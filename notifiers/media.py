"""Attachments through the durable outbox.

`store` writes an attachment's bytes to outbox_media when its message is queued; the message body
names the row (`{"media": id, ...}`), never the bytes. When the dispatcher sends the message,
`hydrate` turns those references into `Media` objects that carry the bytes, the platform media id
cached by an earlier upload (while it is valid) and a way to remember a new one; and a `Progress`
that records, durably, which parts of the message went out (part 1 the text, part k + 1 the k-th
attachment), so a retry after a failed upload sends neither the text nor an attachment twice.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from crm_core.base import utcnow
from crm_core.outbox import OutboxMedia, OutboxMessage
from messaging.replies import Attachment

log = logging.getLogger("brokerbot.media")

EARLY = timedelta(hours=1)  # a cached media id this close to its expiry is uploaded again
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/bmp": "bmp"}


def store(*, session: Session, message: OutboxMessage, attachments: list[Attachment]) -> list[dict]:
    """Rows for the attachments of a queued message; the references its body keeps."""
    refs = []
    for a in attachments:
        row = OutboxMedia(message_id=message.id, kind=a.kind, filename=a.filename, mime=a.mime,
                          size=len(a.content), sha256=hashlib.sha256(a.content).hexdigest(),
                          content=a.content, created_at=message.created_at)
        session.add(row)
        session.flush()
        refs.append({"media": row.id, "kind": a.kind, "filename": a.filename, "mime": a.mime,
                     "size": row.size})
    return refs


@dataclass
class Media:
    """One attachment as a sender sees it."""

    id: int
    kind: str
    filename: str
    mime: str
    content: bytes
    platform_key: str | None = None
    platform_media_id: str | None = None
    platform_expires_at: datetime | None = None
    db: object = field(default=None, repr=False)

    @property
    def extension(self) -> str:
        """"xlsx", "pdf", "png": from the file name, else from the type."""
        _, dot, ext = self.filename.rpartition(".")
        return ext.lower() if dot and ext else EXTENSIONS.get(self.mime, "bin")

    def cached_id(self, key: str, now: datetime | None = None) -> str | None:
        """The platform's id for this content under `key` while it is valid for another hour."""
        now = now or utcnow()
        if self.platform_key == key and self.platform_media_id and self.platform_expires_at \
                and self.platform_expires_at - EARLY > now:
            return self.platform_media_id
        return None

    def remember(self, key: str, media_id: str, expires_at: datetime) -> None:
        self.platform_key, self.platform_media_id, self.platform_expires_at = key, media_id, expires_at
        if self.db is None:
            return
        with self.db.transaction() as session:
            session.execute(update(OutboxMedia).where(OutboxMedia.id == self.id).values(
                platform_key=key, platform_media_id=media_id, platform_expires_at=expires_at))

    def forget(self) -> None:
        """The platform refused the cached id (expired early): the next send uploads again."""
        self.remember(self.platform_key or "", "", utcnow())


@dataclass
class Progress:
    """Which parts of a message are out. `done` parts are skipped; `mark(n)` records part n."""

    done: int = 0
    db: object = field(default=None, repr=False)
    message_ids: list[int] = field(default_factory=list)

    def mark(self, part: int) -> None:
        if part <= self.done:
            return
        self.done = part
        if self.db is None or not self.message_ids:
            return
        with self.db.transaction() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(self.message_ids))
                            .values(parts_done=part))


def attachments(body: dict) -> list[Media]:
    """The hydrated attachments of a body (none when it has none)."""
    return [m for m in body.get("attachments") or [] if isinstance(m, Media)]


def progress(body: dict) -> Progress:
    found = body.get("progress")
    return found if isinstance(found, Progress) else Progress()


def hydrate(session: Session, db, body: dict, rows: list[OutboxMessage]) -> dict:
    """A copy of `body` for the sender: its attachments with their bytes, and its progress."""
    out = dict(body)
    refs = body.get("attachments") or []
    loaded = []
    for ref in refs:
        row = session.get(OutboxMedia, ref["media"])
        if row is None:  # cannot happen while the message row exists (the rows cascade)
            log.error("outbox media %s of a queued message is gone; sent without it", ref["media"])
            continue
        loaded.append(Media(id=row.id, kind=row.kind, filename=row.filename, mime=row.mime,
                            content=row.content, platform_key=row.platform_key,
                            platform_media_id=row.platform_media_id or None,
                            platform_expires_at=row.platform_expires_at, db=db))
    if refs:
        out["attachments"] = loaded
    out["progress"] = Progress(done=min(r.parts_done or 0 for r in rows), db=db, message_ids=[r.id for r in rows])
    return out


def send_in_parts(body: dict, text: Callable[[], str | None] | None,
                  media: Callable[[Media], str | None]) -> str | None:
    """Sends a message as its parts: the text (part 1, when `text` is given), then each attachment
    (part k + 1), skipping the parts an earlier attempt sent and recording each one as it goes out,
    so a retry after a failed upload sends nothing twice. Returns the first platform id a part gave."""
    done, key = progress(body), None
    if done.done < 1:
        if text is not None:
            key = text()
        done.mark(1)
    for part, item in enumerate(attachments(body), start=2):
        if part <= done.done:
            continue
        sent = media(item)
        key = key or sent
        done.mark(part)
    return key
