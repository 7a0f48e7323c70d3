"""Slots of update_client: which field (add_tag, remove_tag, phone, birthday) and its new value,
read from the normalised text with the client blanked; values are taken from the text as written
(the normalised text has the same length)."""
from __future__ import annotations

import re

from intents.client_index import Mention
from intents.patterns import plausible
from intents.reading import BLANK, Reading
from intents.slots_write import PHONE

# A tag: a few characters that are not punctuation, a blank or a quote.
_TAG = r"[「“\"'『【]?(?P<tag>[^\s，,。；;！!？?□的「」“”\"'『』【】]{1,16}?)[」”\"'』】]?"
_ADD = r"(?:添加|增加|加上|打上|贴上|添上|标上|加|打|贴|标记为|标为|add)"
_REMOVE = r"(?:去掉|删掉|删除|移除|去除|拿掉|取消|撤掉|摘掉|撤销|remove|delete|drop)"
_WORD = r"(?:标签|tags?\b)"
REMOVE_TAG = [
    re.compile(_REMOVE + r"\s*(?:了|掉)?(?:□*的)?(?:一?个|the)?\s*" + _WORD + r"\s*[:：]?\s*" + _TAG + r"(?:$|[\s，,。！!]|标签)"),
    re.compile(_REMOVE + r"(?:了|掉)?(?:的)?" + _TAG + r"(?:的)?(?:这个)?" + _WORD),
    re.compile(r"(?:□|的|把|将|^)" + _TAG + r"(?:的)?(?:这个)?" + _WORD + r"(?:给)?" + _REMOVE),
    re.compile(_WORD + r"\s*[:：]?\s*" + _TAG + r"(?:给)?" + _REMOVE),
    re.compile(r"untag\s+□*\s*(?:as\s+)?(?P<tag>[\w-]{1,32})"),
]
ADD_TAG = [
    re.compile(_ADD + r"\s*(?:□*的)?(?:一?个|上|一下|a|the)?\s*(?:的)?" + _WORD + r"\s*[:：]?\s*" + _TAG + r"(?:$|[\s，,。！!])"),
    re.compile(_ADD + r"(?:一?个|上)?" + _TAG + r"(?:的)?(?:这个)?" + _WORD),
    re.compile(r"\btag\s+□+\s+(?:as|with)\s+(?P<tag>[\w-]{1,32})"),
]
# "改成 13800138000", "换号了，新号码 13900001111", "phone to 13800138000".
PHONE_CHANGE = re.compile(r"(?:手机|电话|号码|联系方式|phone|mobile|number).{0,12}?"
                          r"(?:改成|改为|换成|换为|更新为|更新成|变更为|修改为|变成|改一下|改下|是|为|to|is now|is)"
                          r"|换(?:了)?(?:手机)?号|新(?:的)?(?:手机|电话)?号码?|new (?:phone|mobile|number)")
# "生日是5月6号", "生日改成1988-05-06", "birthday is 1988-05-06".
BIRTHDAY_CUE = re.compile(r"(?:生日|出生日期|birthday|date of birth)(?:是|为|改成|改为|改到|更新为|应该是|:|：|is|to|\s)*|"
                          r"(?:出生于|生于|born on|born)\s*")
DATE = re.compile(r"(?:(?P<y>(?:19|20)\d{2})\s*[年\-/.]\s*)?(?P<m>\d{1,2})\s*[月\-/.]\s*(?P<d>\d{1,2})\s*[日号]?"
                  r"(?![\d])")


def _original(r: Reading, m: re.Match, group: str) -> str:
    return r.text[m.start(group):m.end(group)]


def _tag(r: Reading, patterns) -> str | None:
    for pattern in patterns:
        m = pattern.search(r.masked)
        if m and BLANK not in m.group("tag"):
            tag = _original(r, m, "tag").strip()
            known = {t.lower(): t for t in r.tags}
            return known.get(tag.lower(), tag)
    return None


def client_update_slots(r: Reading) -> dict:
    tag = _tag(r, REMOVE_TAG)
    if tag:
        return {"field": "remove_tag", "value": tag}
    tag = _tag(r, ADD_TAG)
    if tag:
        return {"field": "add_tag", "value": tag}
    cue = BIRTHDAY_CUE.search(r.masked)
    if cue:
        m = DATE.match(r.masked, cue.end())
        if m:
            year = m.group("y") or "-"
            return {"field": "birthday", "value": f"{year}-{int(m.group('m')):02d}-{int(m.group('d')):02d}"}
    cue = PHONE_CHANGE.search(r.masked)
    if cue:
        m = PHONE.search(r.text, cue.start())
        if m:
            return {"field": "phone", "value": "".join(m.groups())}
    return {}


# A name the CRM does not show this person, where a change names its client: 给王五加个标签,
# 把王五手机号改成…, 王五生日是… (answered as any unknown name is: "not found").
_NAME = re.compile(r"(?:给|把|将|帮|替|^)(?P<name>[\u4e00-\u9fff]{2,3}?)(?=的?(?:加|添加|增加|打上|贴上|标上|去掉|删掉|删除|"
                   r"移除|拿掉|取消|撤掉|手机|电话|号码|联系方式|生日|出生|标签|换))")


_EN_NAME = r"(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
_EN = [re.compile(r"\b(?:to|from)\s+" + _EN_NAME + r"\s*[.!]?$"),
       re.compile(_EN_NAME + r"'s\s+(?:phone|mobile|number|birthday|tags?)\b")]


def update_guess(r: Reading) -> Mention | None:
    for m in _NAME.finditer(r.norm):
        name = m.group("name")
        if plausible(name):
            return Mention(r.text[m.start("name"):m.end("name")], m.start("name"), m.end("name"), [], False, "pattern")
    for pattern in _EN:
        m = pattern.search(r.text)
        if m:
            return Mention(m.group("name"), m.start("name"), m.end("name"), [], False, "pattern")
    return None
