"""Platform access tokens shared by every replica through the database (PlatformToken), renewed a
little before the platform says they expire."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from crm_core.outbox import PlatformToken

EARLY = timedelta(minutes=5)  # renew a token this long before it expires


def cached_token(db, key: str, now: datetime) -> str | None:
    """The stored token for `key` while it has more than EARLY left, else None."""
    with db.transaction() as session:
        row = session.get(PlatformToken, key)
        if row is not None and row.expires_at - EARLY > now:
            return row.token
    return None


def store_token(db, key: str, token: str, expires_at: datetime) -> None:
    """Store a new token. Two threads or replicas fetching the first token at once both insert:
    the later one finds the row and updates it."""
    for attempt in (1, 2):
        try:
            with db.transaction() as session:
                row = session.get(PlatformToken, key)
                if row is None:
                    session.add(PlatformToken(key=key, token=token, expires_at=expires_at))
                else:
                    row.token, row.expires_at = token, expires_at
            return
        except IntegrityError:
            if attempt == 2:
                raise
