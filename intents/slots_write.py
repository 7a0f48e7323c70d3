"""Slots of the writes: log_interaction, create_reminder, create_lead, record_assessment."""
from __future__ import annotations

import re

from intents.client_index import Mention
from intents.lexicon import lexicon, normalise
from intents.reading import CLAUSES, Reading
from intents.timeparse import parse_times

LEADING = re.compile(r"^(?:[去和跟与给同]|刚|拜访了?|见了|打了?(?:个)?电话|电话|微信|沟通了?|联系了?|"
                     r"visited|called|met with|met)+", re.I)
BARE_VERB = re.compile(r"(?:拜访|见面|打电话|电话|微信|沟通|联系)了?")
PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
INTEREST = re.compile(r"对(?P<i>.{1,12}?)(?:很|比较)?(?:感兴趣|有兴趣|有意向)|想做(?P<j>[^，,。\s]{1,8})|interested in (?P<k>[\w ]+)")
REMINDER_CUE = re.compile(r"(?:帮我)?(?:设(?:个|一个|置)?提醒|记得提醒我|别忘了提醒我|提醒我一下|提醒一下|提醒我|"
                          r"set a reminder(?: for)?|remind me(?: to)?)", re.I)


def channel(text: str) -> str:
    """The channel named in the (normalised) text: visit, phone, wechat, email, else other."""
    for value, pattern in lexicon().groups["channels"].items():
        if pattern.search(text):
            return value
    return "other"


def log_slots(r: Reading, client: Mention | None) -> dict:
    followup_cue = lexicon().cues["followup"]
    slots: dict = {}
    when = followup = None
    summary, kept = [], []
    for clause in (c.strip() for c in CLAUSES.split(r.text)):
        if not clause:
            continue
        if followup_cue.search(normalise(clause)):
            times = _times(r, clause, "future")
            if times:
                followup = followup or times[0]
                continue
        kept.append(normalise(clause))
        times = [t for t in _times(r, clause, "past") if t.value.date() <= r.now.date()]
        if times and when is None:
            when = times[0]
        rest = clause
        for t in reversed(times):
            rest = rest[:t.start] + rest[t.end:]
        if client is not None:
            rest = rest.replace(client.text, "")
        rest = re.sub(r"^(?:了|一下|过|和|跟)+", "", LEADING.sub("", rest.strip()).strip())
        if len(rest) >= 2 and not BARE_VERB.fullmatch(rest):
            summary.append(rest)
    slots["channel"] = channel("，".join(kept))
    slots["when"] = when.iso() if when else r.now.date().isoformat()
    slots["summary"] = "，".join(summary) or r.text
    if followup is not None:
        slots["next_followup"] = followup.iso()
    return slots


def _times(r: Reading, clause: str, prefer: str):
    return parse_times(clause, r.now, prefer)


def reminder_slots(r: Reading) -> dict:
    times = r.times("future")
    slots: dict = {}
    if times:
        slots["when"] = times[0].iso()
    content = r.text
    for t in sorted(times, key=lambda t: -t.start):
        content = content[:t.start] + content[t.end:]
    content = REMINDER_CUE.sub("", content)
    content = re.sub(r"^[\s，,。:：]+|[\s，,。]+$", "", content)
    slots["content"] = content or r.text
    return slots


def lead_slots(r: Reading) -> dict:
    slots: dict = {}
    m = PHONE.search(r.text)
    if m:
        slots["phone"] = "".join(m.groups())
    m = INTEREST.search(r.text)
    if m:
        slots["interest"] = next(g for g in m.groups() if g).strip()
    source = next((s for s in lexicon().lead_sources if s in r.norm), None)
    if source:
        at = r.norm.find(source)
        slots["source"] = r.text[at:at + len(source)]
    return slots


# A questionnaire's points: "62分", "70 points", "得分62", "score 70", "测评结果62".
SCORE = re.compile(r"(?<![\d.])(\d{1,3})\s*(?:分|points?\b|pts?\b)|"
                   r"(?:得分|评分|分数|总分|结果|score(?: of)?|[测评估卷])\s*(?:是|为|[:：=])?\s*(\d{1,3})(?![\d.%万])")
LEVEL = re.compile(r"(?<![a-z0-9])c\s*([1-5])(?![\d.])")


def assessment_slots(r: Reading) -> dict:
    """score and level of a suitability result, read from the text with the client blanked."""
    slots: dict = {}
    m = SCORE.search(r.masked)
    if m:
        slots["score"] = int(m.group(1) or m.group(2))
    m = LEVEL.search(r.masked)
    if m:
        slots["level"] = f"C{m.group(1)}"
    return slots
