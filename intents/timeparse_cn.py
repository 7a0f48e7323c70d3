"""Chinese time expressions: 今天/明早/大后天, 周X/下周X/上周X, 月底/下个月N号, 12月1号, 11/20,
N天后/N天前/两周后, 上午/下午/晚上 N点(半), 半小时后."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from intents.numbers import cn_number
from intents.timecore import (
    BEYOND_CALENDAR,
    TimeExpr,
    add_months,
    hour_of,
    month_edge,
    safe_date,
    weekday_in,
)

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
WEEK_PREFIX = {"这": 0, "本": 0, "下": 1, "下下": 2, "上": -1, "上上": -2}
RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨晚": -1, "今天": 0, "今日": 0,
                 "今早": 0, "今晚": 0, "明天": 1, "明日": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3}
PARTS = {"凌晨": "night", "早上": "am", "早晨": "am", "上午": "am", "中午": "noon", "下午": "pm",
         "傍晚": "pm", "晚上": "eve", "今早": "am", "明早": "am", "今晚": "eve", "明晚": "eve", "昨晚": "eve"}
AFTER = ("后", "以后", "之后")

NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
MREL = r"下个?月|本月|这个?月"
DATE = (
    r"(?P<rel>大前天|大后天|前天|昨天|昨日|昨晚|今天|今日|今早|今晚|明天|明日|明早|明晚|后天)"
    r"|(?P<wkpre>这|本|下下|下|上上|上)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末1-7])"
    r"|(?P<nextweek>下下|下)个?(?:周|星期|礼拜)"
    r"|(?P<ymd>\d{4})[-/年.](?P<ymd_m>\d{1,2})[-/月.](?P<ymd_d>\d{1,2})[日号]?"
    rf"|(?P<month>{NUM})月(?P<mday>{NUM})[日号]?"
    rf"|(?P<mrel>{MREL})(?P<mday2>{NUM})[日号]"
    rf"|(?P<mday3>{NUM})号"
    r"|(?P<slash_m>\d{1,2})/(?P<slash_d>\d{1,2})(?![\d/])"
    r"|(?P<mend>下个?|本|这个?)?(?P<edge>月底|月末|月初|月中)"
    rf"|(?P<n>{NUM}|半)(?P<unit>天|日|个?(?:周|星期|礼拜)|个月)(?P<dir>后|以后|之后|前|以前|之前)"
)
PART = r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)"
# 一刻 is a quarter hour (十一点一刻 11:15, 三点三刻 3:45); tried before minutes so 刻 is read too.
CLOCK = (rf"(?P<hour>{NUM})(?:点|时)(?:(?P<half>半)|(?P<quarter>[一二三123])刻|(?P<minute>{NUM})分?|整)?"
         r"|(?P<hh>\d{1,2})[:：](?P<mm>\d{2})")
RE = re.compile(rf"(?:{DATE})?\s*{PART}?\s*(?:{CLOCK})?")
# 半小时后, 两个钟头后, 一个半小时后 (90 minutes), 一刻钟后 (15).
SOON = re.compile(rf"(?:(?P<n>{NUM})\s*(?:个)?(?P<plus>半)?|(?P<half>半)\s*(?:个)?)(?P<unit>小时|钟头|分钟|刻钟)"
                  r"(?P<dir>后|以后|之后)")
SOON_MINUTES = {"小时": 60, "钟头": 60, "分钟": 1, "刻钟": 15}
DATE_GROUPS = ("rel", "wd", "nextweek", "ymd", "month", "mday2", "mday3", "slash_m", "edge", "n")


def _count(raw: str) -> float:
    return 0.5 if raw == "半" else cn_number(raw)


def _date(g: dict, today: date, prefer: str | None) -> date | None:
    if g["rel"]:
        return today + timedelta(days=RELATIVE_DAYS[g["rel"]])
    if g["wd"]:
        weeks = WEEK_PREFIX.get(g["wkpre"]) if g["wkpre"] else None
        return weekday_in(today, WEEKDAYS[g["wd"]], weeks, prefer)
    if g["nextweek"]:
        return weekday_in(today, 0, WEEK_PREFIX[g["nextweek"]], prefer)
    if g["ymd"]:
        return safe_date(int(g["ymd"]), int(g["ymd_m"]), int(g["ymd_d"]))
    if g["month"]:
        month, mday = cn_number(g["month"]), cn_number(g["mday"])
        day = safe_date(today.year, month, mday)
        if day and prefer == "future" and day < today - timedelta(days=31):
            day = safe_date(today.year + 1, month, mday)
        return day
    if g["mday2"] or g["mday3"]:
        ahead = 1 if (g["mrel"] or "").startswith("下") else 0
        base = add_months(today.replace(day=1), ahead)
        mday = cn_number(g["mday2"] or g["mday3"])
        day = safe_date(base.year, base.month, mday)
        if day and g["mday3"] and prefer == "future" and day < today:
            base = add_months(base, 1)
            day = safe_date(base.year, base.month, mday)
        return day
    if g["slash_m"]:
        return safe_date(today.year, int(g["slash_m"]), int(g["slash_d"]))
    if g["edge"]:
        months = (1 if g["mend"].startswith("下") else 0) if g["mend"] else None
        edge = {"月底": "end", "月末": "end", "月中": "mid"}.get(g["edge"], "start")
        return month_edge(today, edge, months, prefer)
    if g["n"]:
        sign = 1 if g["dir"] in AFTER else -1
        count = _count(g["n"])
        if g["unit"] == "个月":
            return add_months(today, sign * int(count))
        days = count * (1 if g["unit"] in ("天", "日") else 7)
        return today + timedelta(days=sign * int(days))
    return None


def parse(text: str, now: datetime, prefer: str | None) -> list[TimeExpr]:
    today, tz = now.date(), now.tzinfo
    found: list[TimeExpr] = []
    for m in SOON.finditer(text):
        unit = SOON_MINUTES[m.group("unit")]
        minutes = unit / 2 if m.group("half") else cn_number(m.group("n")) * unit + (unit / 2 if m.group("plus") else 0)
        try:
            found.append(TimeExpr(m.start(), m.end(), now + timedelta(minutes=minutes), False))
        except BEYOND_CALENDAR:
            continue
    for m in RE.finditer(text):
        if m.end() == m.start() or any(t.start <= m.start() < t.end for t in found):
            continue
        g = m.groupdict()
        has_date = any(g[k] for k in DATE_GROUPS)
        has_clock = bool(g["hour"] or g["hh"])
        if not (has_date or has_clock or g["part"]):
            continue
        try:
            day = _date(g, today, prefer) if has_date else today
        except BEYOND_CALENDAR:
            continue
        if day is None:
            continue
        part = PARTS.get(g["part"] or "") or PARTS.get(g["rel"] or "")
        if not has_clock:
            found.append(TimeExpr(m.start(), m.end(), datetime.combine(day, time(12, 0), tz), True))
            continue
        if g["hh"]:
            hour, minute = int(g["hh"]), int(g["mm"])
        else:
            hour = cn_number(g["hour"])
            minute = 30 if g["half"] else (cn_number(g["minute"]) if g["minute"] else 0)
            if g["quarter"]:
                minute = 15 * cn_number(g["quarter"])
        if hour == 12 and part in ("eve", "night"):
            hour = 0  # 晚上十二点 is the midnight that ends the day; 凌晨十二点 the one that starts it
            if part == "eve" and day < date.max:
                day += timedelta(days=1)
        else:
            hour = hour_of(hour, part)
        if hour > 23 or minute > 59:
            continue
        moment = datetime.combine(day, time(hour, minute), tz)
        if not has_date and prefer == "future" and moment < now and day < date.max:
            moment += timedelta(days=1)
        found.append(TimeExpr(m.start(), m.end(), moment, False))
    return found
