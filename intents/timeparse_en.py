"""English time expressions: today/tomorrow/yesterday, (next|this|last|on) Monday, Friday,
next week, in 3 days, 3 days ago, in 2 hours, at 9am / 9:30 pm, this morning, tonight.
A day and a clock time next to each other, in either order, make one expression."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from intents.timecore import BEYOND_CALENDAR, TimeExpr, weekday_in

WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
EN_WEEKDAYS = {name: i for i, name in enumerate(WEEKDAY_NAMES)}
EN_WEEKDAYS.update({name[:3]: i for i, name in enumerate(WEEKDAY_NAMES)})
RELATIVE = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
            "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2}
WD = "|".join(sorted(EN_WEEKDAYS, key=len, reverse=True))
DAY = re.compile(
    r"\b(?:(?P<rel>the day after tomorrow|day after tomorrow|today|tonight|tomorrow|yesterday|"
    r"this (?:morning|afternoon|evening))"
    rf"|(?:(?P<pre>next|this|last|on|by|for)\s+)?(?P<wd>{WD})\b"
    r"|(?P<nextweek>next week)"
    r"|in\s+(?P<inn>\d+)\s+(?P<inunit>days?|weeks?)"
    r"|(?P<ago>\d+)\s+(?P<agounit>days?|weeks?)\s+ago)")
CLOCK = re.compile(r"\b(?:at\s+)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)"
                   r"|\bat\s+(?P<hh>\d{1,2}):(?P<mm>\d{2})\b")
SOON = re.compile(r"\bin\s+(?P<n>\d+|an?|half an)\s+(?P<unit>hours?|minutes?|mins?)\b")
WEEKS = {"next": 1, "this": 0, "last": -1}


def _day(m: re.Match, now: datetime, prefer: str | None):
    g, today = m.groupdict(), now.date()
    if g["rel"]:
        return today + timedelta(days=RELATIVE[g["rel"].replace("the ", "")])
    if g["wd"]:
        return weekday_in(today, EN_WEEKDAYS[g["wd"]], WEEKS.get(g["pre"] or ""),
                          "past" if prefer == "past" else "future")
    if g["nextweek"]:
        return weekday_in(today, 0, 1, prefer)
    if g["inn"]:
        return today + timedelta(days=int(g["inn"]) * (7 if g["inunit"].startswith("w") else 1))
    return today - timedelta(days=int(g["ago"]) * (7 if g["agounit"].startswith("w") else 1))


def _reachable(m: re.Match, now: datetime, prefer: str | None):
    try:
        return _day(m, now, prefer)
    except BEYOND_CALENDAR:  # in 99999999 days
        return None


def _clock(m: re.Match) -> time | None:
    if m.group("hh"):
        hour, minute = int(m.group("hh")), int(m.group("mm"))
    else:
        hour, minute = int(m.group("hour")), int(m.group("minute") or 0)
        pm = m.group("ampm").startswith("p")
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12:
            hour = 0
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse(text: str, now: datetime, prefer: str | None) -> list[TimeExpr]:
    tz = now.tzinfo
    found: list[TimeExpr] = []
    for m in SOON.finditer(text):
        n = {"a": 1, "an": 1, "half an": 0.5}.get(m.group("n")) or int(m.group("n"))
        minutes = n * (60 if m.group("unit").startswith("h") else 1)
        try:
            found.append(TimeExpr(m.start(), m.end(), now + timedelta(minutes=minutes), False))
        except BEYOND_CALENDAR:
            continue
    days = [(m, day) for m in DAY.finditer(text) if (day := _reachable(m, now, prefer)) is not None]
    clocks = [(m, _clock(m)) for m in CLOCK.finditer(text)]
    used: set[int] = set()
    for m, day in days:
        pair = next((c for c in clocks if id(c[0]) not in used and c[1] is not None and
                     not text[min(m.end(), c[0].end()):max(m.start(), c[0].start())].strip(" ,")), None)
        if pair:
            used.add(id(pair[0]))
            start, end = min(m.start(), pair[0].start()), max(m.end(), pair[0].end())
            found.append(TimeExpr(start, end, datetime.combine(day, pair[1], tz), False))
        else:
            found.append(TimeExpr(m.start(), m.end(), datetime.combine(day, time(12, 0), tz), True))
    for m, clock in clocks:
        if id(m) in used or clock is None:
            continue
        moment = datetime.combine(now.date(), clock, tz)
        if prefer == "future" and moment < now:
            moment += timedelta(days=1)
        found.append(TimeExpr(m.start(), m.end(), moment, False))
    return found
