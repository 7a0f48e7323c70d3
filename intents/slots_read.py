"""Slots of the reads added for issue 13: the days a list of reminders covers (list_reminders)
and the staff member a supervisor asks about (`subject` of kpi_report and find_clients)."""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from intents.patterns import HAN, plausible
from intents.reading import Reading
from intents.timecore import add_months

# Weeks run Monday to Sunday (as in intents.timecore); a week or a month is an ISO interval.
WEEK = re.compile(r"(?P<which>这|本|下下|下|上)个?(?:周|星期|礼拜)(?![一二三四五六日天末1-7])|"
                  r"(?P<en>this|next|last) week")
MONTH = re.compile(r"(?P<which>这|本|下|上)个?月(?![底末初中\d一二三四五六七八九十])|(?P<en>this|next|last) month")
WEEKS_AWAY = {"这": 0, "本": 0, "this": 0, "下": 1, "next": 1, "下下": 2, "上": -1, "last": -1}


def _interval(first: date, last: date) -> str:
    return f"{first.isoformat()}/{last.isoformat()}"


def reminder_range(r: Reading) -> dict:
    """{"when": ISO date or ISO interval} for the days named; {} when none is (all pending)."""
    today = r.now.date()
    m = WEEK.search(r.norm)
    if m:
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=WEEKS_AWAY[m.group("which") or m.group("en")])
        return {"when": _interval(monday, monday + timedelta(days=6))}
    m = MONTH.search(r.norm)
    if m:
        ahead = WEEKS_AWAY[m.group("which") or m.group("en")]
        first = add_months(today.replace(day=1), ahead)
        return {"when": _interval(first, first.replace(day=calendar.monthrange(first.year, first.month)[1]))}
    times = r.times("future")
    return {"when": times[0].value.date().isoformat()} if times else {}


# A person named before what is asked about them: 王芳这个月的业绩, 王芳的客户里风险度超过90%的,
# 王芳名下可用资金低于10万的客户. The name must look like one (intents.patterns.plausible).
SUBJECT = re.compile(
    r"^(?:看看|看一下|看下|查一下|查下|查查|帮我查一?下|帮我看一?下)?"
    rf"(?P<name>{HAN}{{2,4}}?)(?=的|名下|手下|负责|团队|组|在|这个?月|本月|当月|上个?月|今年|本年|去年|今天|今日|"
    r"本周|这周|这个?星期|上周|本季度?|这个?季度|业绩|kpi|绩效|数据|开户|新开|客户)")
SUBJECT_EN = re.compile(r"\b(?:kpi|performance|figures|clients|numbers) (?:of|for) (?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)|"
                        r"(?P<owner>[A-Z][a-z]+(?: [A-Z][a-z]+)?)'s (?:kpi|performance|figures|clients|numbers)\b")


def subject(r: Reading) -> dict:
    """{"subject": the staff member's name as written}, or {} when no person is named."""
    m = SUBJECT.search(r.masked)
    if m and plausible(m.group("name")):
        return {"subject": r.text[m.start("name"):m.end("name")]}
    m = SUBJECT_EN.search(r.text)
    return {"subject": m.group("name") or m.group("owner")} if m else {}
