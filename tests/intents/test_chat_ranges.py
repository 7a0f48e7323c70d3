"""Numbers and spans beyond any sensible range in a question: one sentence saying what range is
meant, never the internal-error apology (issue 12)."""
from __future__ import annotations

import random
import re

import pytest

from intents.catalog import catalog

APOLOGY = ("抱歉，处理时出了问题", "Sorry, something went wrong")


RISK = "风险度请给 0 到 1000 之间的百分比，例如“风险度超过80%的客户”。"
DAYS = "天数请在 0 到 36500 天（100 年）之间，例如“30天没联系的客户”。"
AMOUNT = "金额请在正负一千万亿元（10^15 元）以内，例如“可用资金低于10万的客户”。"


@pytest.mark.parametrize("text, answer", [
    ("风险度超过99999999999999999999999%的客户", RISK),
    ("风险度超过1001%的客户", RISK),
    ("99999999999999999999天没联系的客户", DAYS),
    ("九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九"
     "九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九"
     "九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九"
     "九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九"
     "九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九"
     "九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九九"
     "天没联系的客户", DAYS),
    ("可用资金低于1e999的客户", AMOUNT),
    ("可用资金低于" + "9" * 400 + "的客户", AMOUNT),
    ("最近99999999999天开户的客户", DAYS),
    ("99999999999天没交易的客户", DAYS),
    ("风险最高的99999999999999999999个客户", "最多列出风险最高的 10000 位客户，例如“风险最高的10个客户”。"),
])
def test_out_of_range_values_get_a_sentence_saying_the_range(app, crm, testbot, text, answer):
    said = testbot.person("m1").send(text).text
    assert said == answer


def test_the_range_sentence_is_in_english_too(app, crm, testbot):
    said = testbot.person("m1").send("clients not contacted for 99999999999 days").text
    assert said == "Give a number of days from 0 to 36,500 (100 years), e.g. \"clients not contacted for 30 days\"."


# -- a bounded fuzz of the chat -----------------------------------------------------------------

HUGE = ("99999999999999999999999", "1e999", "-1", "0", "九九九九九九九九九九九九九九九九九九九九", "１２３４５６７８９０",
        "9" * 400, "3.14159265358979323846264338327950288", "NaN", "∞", "-0.0")
DATES = ("9999-12-31", "0001-01-01", "2099年13月45日", "2026-02-30", "99999999999天后", "下下下下周一",
         "前天的前天", "12/31/9999", "25:61", "99999年", "2026年11月18日99点", "in 99999999 days")
ODD = ("\u200b", "\u202e", "🙂", "\u0301", "\x00", "\ufeff", "％", "　", "\n", "\t", "'\"<>&;", "{}", "\\",
       "\U0001F9E7", "Ⅻ", "⑨", "٣٤")


def _messages(seed: int, count: int) -> list[str]:
    examples = [example for spec in catalog().values() for example in spec.examples]
    rng = random.Random(seed)
    made = ["", " ", "\n\n", "确认", "取消", "1", "0", "-1", "x" * 5000, "张三" * 2000,
            "同意 #99999999999999999999", "remind me in 99999999 days to call John Smith",
            "提醒我99999999天后给张三打电话", "张三的风险测评99999999999999999999分", "9999-12-31提醒我给张三打电话"]
    while len(made) < count:
        text = rng.choice(examples)
        for _ in range(rng.randint(1, 3)):
            how = rng.randrange(5)
            if how == 0 and any(ch.isdigit() for ch in text):  # every number made extreme
                text = re.sub(r"\d+(?:\.\d+)?", lambda _: rng.choice(HUGE), text)
            elif how == 1:
                at = rng.randint(0, len(text))
                text = text[:at] + rng.choice(HUGE + DATES) + text[at:]
            elif how == 2:
                at = rng.randint(0, len(text))
                text = text[:at] + rng.choice(ODD) + text[at:]
            elif how == 3:
                text = text * rng.choice((2, 3, 40))
            else:
                text = rng.choice(DATES) + rng.choice(("", " ", "，")) + text
        made.append(text)
    return made


def test_three_hundred_fuzzed_messages_get_no_internal_error_apology(app, crm, testbot):
    failed = []
    for text in _messages(seed=12, count=300):
        said = testbot.push(text, as_="m1").text
        if said.startswith(APOLOGY):
            failed.append(text[:120])
        testbot.queue.clear()
    assert failed == []
