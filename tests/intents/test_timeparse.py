"""Time expressions relative to a fixed now (Wednesday 2026-11-18 09:30 in Shanghai)."""
from datetime import datetime

import pytest

from intents.timeparse import parse_times

NOW = datetime.fromisoformat("2026-11-18T09:30:00+08:00")


def first(text: str, prefer: str | None = "future") -> str | None:
    found = parse_times(text, NOW, prefer)
    return found[0].iso() if found else None


@pytest.mark.parametrize("text, expected", [
    ("今天", "2026-11-18"), ("明天", "2026-11-19"), ("后天", "2026-11-20"), ("大后天", "2026-11-21"),
    ("昨天", "2026-11-17"), ("前天", "2026-11-16"),
    ("今天下午", "2026-11-18"), ("明早", "2026-11-19"),
    ("明早九点", "2026-11-19T09:00:00+08:00"), ("明天上午十点", "2026-11-19T10:00:00+08:00"),
    ("下午3点", "2026-11-18T15:00:00+08:00"), ("下午三点半", "2026-11-18T15:30:00+08:00"),
    ("晚上8点", "2026-11-18T20:00:00+08:00"), ("今晚8点", "2026-11-18T20:00:00+08:00"),
    ("明天9点半", "2026-11-19T09:30:00+08:00"), ("14:30", "2026-11-18T14:30:00+08:00"),
    ("周五", "2026-11-20"), ("这周五", "2026-11-20"), ("下周二", "2026-11-24"), ("下周一", "2026-11-23"),
    ("上周五", "2026-11-13"), ("下下周一", "2026-11-30"), ("周五下午两点半", "2026-11-20T14:30:00+08:00"),
    ("月底", "2026-11-30"), ("月初", "2026-12-01"), ("下个月底", "2026-12-31"),
    ("下个月3号", "2026-12-03"), ("下月10号", "2026-12-10"),
    ("3天后", "2026-11-21"), ("三天前", "2026-11-15"), ("两周后", "2026-12-02"),
    ("12月1号", "2026-12-01"), ("11/20", "2026-11-20"), ("2027年1月5日", "2027-01-05"),
    ("半小时后", "2026-11-18T10:00:00+08:00"), ("一小时后", "2026-11-18T10:30:00+08:00"),
    ("tomorrow at 9am", "2026-11-19T09:00:00+08:00"), ("10am tomorrow", "2026-11-19T10:00:00+08:00"),
    ("next Monday", "2026-11-23"), ("in 3 days", "2026-11-21"), ("on Friday", "2026-11-20"),
    ("at 4pm", "2026-11-18T16:00:00+08:00"), ("in 2 hours", "2026-11-18T11:30:00+08:00"),
    ("next week", "2026-11-23"), ("yesterday", "2026-11-17"), ("3 days ago", "2026-11-15"),
])
def test_expressions(text, expected):
    assert first(text) == expected


def test_traditional_characters_are_read_too():
    assert first("下週二") == "2026-11-24" and first("明天下午3點") == "2026-11-19T15:00:00+08:00"


def test_a_bare_weekday_looks_back_for_what_happened():
    assert first("周一拜访了郑凯", "past") == "2026-11-16"
    assert first("周一提醒我", "future") == "2026-11-23"
    assert first("met him on Monday", "past") == "2026-11-16"


def test_a_clock_time_already_past_today_means_tomorrow_for_a_reminder():
    assert first("8点提醒我", "future") == "2026-11-19T08:00:00+08:00"


def test_spans_point_at_the_words_and_every_expression_is_found():
    text = "今天下午拜访了张三，下周二再跟进"
    found = parse_times(text, NOW, "past")
    assert [text[t.start:t.end] for t in found] == ["今天下午", "下周二"]
    assert [t.iso() for t in found] == ["2026-11-18", "2026-11-24"]


def test_numbers_that_are_not_times_are_left_alone():
    assert parse_times("驳回第31号申请", NOW) == []
    assert parse_times("可用低于10万的客户", NOW) == []
    assert parse_times("一个月没联系的客户", NOW) == []
