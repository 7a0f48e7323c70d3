"""Client names as they are mistyped: 孙志墙 (a homophone from the pinyin keyboard) for 孙志强,
张3 for 张三, zhagnsan for zhangsan, and polyphonic surnames read either way (曾: zeng or ceng).

The index keeps, besides each name's pinyin, a *loose* pinyin where the sounds people confuse
are one (zh/z, ch/c, sh/s, ang/an, eng/en, ing/in). A mention is close to a client when:
- a Chinese mention (2 to 4 characters) has the client's surname and length, and the same
  pinyin (孙志墙 = 孙志强, 张3 = 张三); in names of three characters or more, also the same loose
  pinyin or one letter off it (rapidfuzz's OSA distance: one insertion, deletion, substitution or
  swap). In two characters one sound is half the name: 张山 is not taken for 张三 (the reply that
  no 张山 was found suggests 张三 instead);
- a latin mention ("zhagnsan", "zeng zhi wei") has a loose pinyin one letter off a client's,
  when it is six letters or longer (shorter ones must be the same: "lina" is no "liya").
张三 and 张伟 (zhangsan, zhangwei) are never close. Only one name may be close: two names
equally close is no answer. Callers look here only when the message names no client exactly.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pypinyin import lazy_pinyin


HERE = Path(__file__).parent
LOOSE = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"))
MIN_LATIN = 6  # letters of loose pinyin from which one letter may be off
DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
DIGIT_NAME = re.compile(r"(?<![\u4e00-\u9fff])?([\u4e00-\u9fff]{1,2}\d)(?!\d)([\u4e00-\u9fff]?)")
LATIN = re.compile(r"[a-z]+(?: [a-z]+){0,2}")
HAN = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def surname_readings() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load((HERE / "surname_readings.yaml").read_text(encoding="utf-8")) or {}
    return {surname: tuple(readings) for surname, readings in data.items()}


@lru_cache(maxsize=200_000)
def pinyin_keys(key: str, surname: str) -> tuple[str, ...]:
    """Every pinyin a Chinese name is found by: as python-pinyin reads it, and with each reading
    of a polyphonic surname (曾志伟: cengzhiwei, zengzhiwei)."""
    whole = "".join(lazy_pinyin(key))
    readings = surname_readings().get(surname)
    if not readings:
        return (whole,)
    given = "".join(lazy_pinyin(key[len(surname):]))
    return tuple(dict.fromkeys((*(r + given for r in readings), whole)))


def loose(pinyin: str) -> str:
    for sound, same in LOOSE:
        pinyin = pinyin.replace(sound, same)
    return pinyin


def digit_names(masked: str):
    """张3 -> (start, end, 张三): a name with a digit typed for a numeral (张3丰 too)."""
    for m in DIGIT_NAME.finditer(masked):
        for end in sorted({m.end(1), m.end(2)}, reverse=True):
            yield m.start(1), end, "".join(DIGITS.get(ch, ch) for ch in masked[m.start(1):end])


def latin_words(masked: str):
    """Runs of up to three latin words of five letters or more in all, in a Chinese message."""
    if not HAN.search(masked):
        return
    for m in LATIN.finditer(masked):
        if len(m.group().replace(" ", "")) >= 5:
            yield m.start(), m.end(), m.group()
