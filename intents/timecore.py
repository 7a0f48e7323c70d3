"""What the Chinese and English time readers share: the TimeExpr they return and date helpers.

Time expressions in Chinese and English, relative to `now` in the business time zone.

A date alone ("下周二", "tomorrow") stays a date: `date_only` is set and `iso()` prints
YYYY-MM-DD. A part of the day without a clock time ("今天下午") is also a date alone.
`prefer` settles a bare weekday or clock time: "future" (reminders, follow-ups) takes the
coming one, "past" (things that happened) the last one.

Weeks run Monday to Sunday: 下周二 is the Tuesday of the next calendar week, 上周五 the Friday
of the last one; "next Monday" likewise.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class TimeExpr:
    start: int
    end: int
    value: datetime
    date_only: bool

    def iso(self) -> str:
        return self.value.date().isoformat() if self.date_only else self.value.isoformat()


# What date arithmetic raises past the calendar's ends (years 1 and 9999): "in 99999999 days" is
# no time at all, so the expression is not read as one.
BEYOND_CALENDAR = (OverflowError, ValueError)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def weekday_in(today: date, weekday: int, weeks: int | None, prefer: str | None) -> date:
    """The weekday in the week `weeks` away (0 this week); with weeks None, the one `prefer` says."""
    monday = today - timedelta(days=today.weekday())
    day = monday + timedelta(weeks=weeks or 0, days=weekday)
    if weeks is None:
        if prefer == "future" and day < today:
            day += timedelta(weeks=1)
        elif prefer == "past" and day > today:
            day -= timedelta(weeks=1)
    return day


def month_edge(today: date, edge: str, months: int | None, prefer: str | None) -> date:
    """月底 / 月初 / 月中 of this month, or `months` away; 月初 said alone looks ahead."""
    base = add_months(today.replace(day=1), months or 0)
    if edge == "end":
        return base.replace(day=calendar.monthrange(base.year, base.month)[1])
    day = base.replace(day=15 if edge == "mid" else 1)
    if months is None and prefer != "past" and day < today:
        day = add_months(day, 1)
    return day


def hour_of(hour: int, part: str | None) -> int:
    """A clock hour with the part of the day: 下午3点 15, 晚上8点 20, 三点 (office hours) 15."""
    if part in ("pm", "eve") and hour < 12:
        return hour + 12
    if part == "noon" and hour < 6:
        return hour + 12
    if part is None and 1 <= hour <= 6:
        return hour + 12
    return hour
