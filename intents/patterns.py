"""Client names not (yet) in the CRM, recognised by the shape of the sentence: 王五的保证金,
拜访了钱多多, 新客户王大锤, lead Tom Lee. A guess must start with a common surname and is
never a word of the lexicon's `not_names`."""
from __future__ import annotations

import re

from intents.client_index import Mention
from intents.lexicon import lexicon

HAN = r"[\u4e00-\u9fff]"
PUNCT = r"[，,。.;；:：!！?？\s]"
LEAD = re.compile(
    r"(?:新客户|新增客户|潜在客户|潜客|意向客户|线索|客户)(?:线索)?\s*[:：，,]?\s*"
    rf"(?P<name>{HAN}{{2,4}}?)(?=[，,。;；\s:：]|电话|手机|\d|对|想|老客户|朋友|$)")
ACTION = re.compile(
    r"(?:拜访了?|见了|约见了?|给|和|跟|与|帮|把|替|联系)(?:新客户|客户)?"
    rf"(?P<name>{HAN}{{2,3}}?)(?=打|通|发|聊|沟通|见|吃|说|谈|申请|开|转|的|走|报|降|调|约|微信|电话|回|一起|{PUNCT}|$)")
QUESTION = re.compile(
    r"^(?:查一?下|看一?下|看看|查查|帮我查一?下|查询)?"
    rf"(?P<name>{HAN}{{2,4}}?)(?=的|有没有|有|是|现在|目前|还|要|会|账户|资金|保证金|持仓|仓位|可用|风险|权益|手里|做了|测评|适当性|最近|上次|上一次|最后一次|多久|联系记录|$)")
EN_NAME = r"(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
EN = re.compile(r"\b(?:lead|prospect|for|of|about|with|visited|called|met|emailed|call|visit|email)[:\s]+" + EN_NAME)
EN_LEAD = re.compile(r"\b(?:lead|prospect)[:\s]+" + EN_NAME)
EN_NOT_NAMES = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "The",
                "Today", "Tomorrow", "Yesterday", "Next", "This", "Last", "Phone", "Interested"}
FUNCTION_CHARS = set("的了吗呢是有在和跟给说打通发聊个这那我你他她们要会还现去来也都就再把被让")


def plausible(name: str) -> bool:
    lex = lexicon()
    if name in lex.not_names or any(ch in FUNCTION_CHARS for ch in name[1:]):
        return False
    return name[:2] in lex.surnames or name[0] in lex.surnames


# CTP investor ids are digit strings; 11-digit mobiles (1[3-9]...) are not accounts.
ACCOUNT_SHAPE = re.compile(r"(?<![\d.])(?!1[3-9]\d{9}(?!\d))\d{8,12}(?![\d.%万])")


def guess(text: str, masked: str, *, lead: bool = False) -> Mention | None:
    """A name by pattern in `masked` (normalised, times and products blanked), cut from `text`."""
    if not lead:
        number = ACCOUNT_SHAPE.search(text)  # an account number not (yet) in the CRM
        if number:
            return Mention(number.group(), number.start(), number.end(), [], False, "pattern")
    patterns = (LEAD,) if lead else (ACTION, QUESTION, LEAD)
    for pattern in patterns:
        for m in pattern.finditer(masked):
            name = m.group("name")
            if plausible(name):
                return Mention(text[m.start("name"):m.end("name")], m.start("name"), m.end("name"), [], False,
                               "pattern")
    for pattern in ((EN_LEAD,) if lead else (EN,)):
        for m in pattern.finditer(text):
            words = m.group("name").split()
            while words and words[-1] in EN_NOT_NAMES:
                words.pop()
            if words and words[0] not in EN_NOT_NAMES:
                end = m.start("name") + len(" ".join(words))
                return Mention(text[m.start("name"):end], m.start("name"), end, [], False, "pattern")
    return None
