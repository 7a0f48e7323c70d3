"""Every time expression in a message, Chinese and English (intents.timeparse_cn, _en); the
expressions and helpers they share are in intents.timecore."""
from __future__ import annotations

from datetime import datetime

from intents import timeparse_cn, timeparse_en
from intents.chinese import simplify
from intents.timecore import TimeExpr

__all__ = ["TimeExpr", "parse_times"]


def parse_times(text: str, now: datetime, prefer: str | None = None) -> list[TimeExpr]:
    """Every time expression in `text`, in order. `now` must be aware (business time zone)."""
    plain = simplify(text)  # same length: spans still point into `text`
    found = timeparse_cn.parse(plain, now, prefer) + timeparse_en.parse(plain, now, prefer)
    found.sort(key=lambda t: t.start)
    return found
