"""Slots of approvals, alerts and KPI reports."""
from __future__ import annotations

import re

from intents.lexicon import lexicon
from intents.reading import Reading

TRIM = re.compile(r"^[\s，,。:：;；#-]+|[\s，,。;；]+$")


def item_id(r: Reading) -> tuple[int, int, int] | None:
    """The id of an approval or alert (#123, 第31号, 审批单12, a bare 45): (id, start, end)."""
    m = r.cue("item_id")
    if not m:
        return None
    group = next(i for i in range(1, 5) if m.group(i))
    return int(m.group(group)), m.start(), m.end()


def _group(name: str, text: str) -> str | None:
    return next((v for v, p in lexicon().groups[name].items() if p.search(text)), None)


def _comment(r: Reading, cut: list[tuple[int, int]]) -> str | None:
    text = r.text
    for start, end in sorted(cut, reverse=True):
        text = text[:start] + " " * (end - start) + text[end:]
    text = TRIM.sub("", " ".join(text.split()))
    return text or None


def decision_slots(r: Reading) -> dict:
    found = item_id(r)
    reject = r.cue("decision_reject")
    decision = reject or r.cue("decision_approve")
    slots: dict = {"decision": "reject" if reject else "approve"}
    cut = []
    if found:
        slots["approval_id"] = found[0]
        cut.append(found[1:])
    if decision:
        cut.append(decision.span())
    filler = re.search(r"申请|审批单?|通过", r.masked)
    comment = _comment(r, cut + ([filler.span()] if filler else []))
    if comment and len(comment) >= 2:
        slots["comment"] = comment
    return slots


def ack_slots(r: Reading) -> dict:
    found = item_id(r)
    slots: dict = {}
    cut = []
    if found:
        slots["alert_id"] = found[0]
        cut.append(found[1:])
    for cue in ("alert_word",):
        m = r.cue(cue)
        if m:
            cut.append(m.span())
    m = re.match(r"\s*(?:收到|ack(?:nowledge[d]?)?|确认)", r.masked)
    if m:
        cut.append(m.span())
    comment = _comment(r, cut)
    if comment:
        slots["comment"] = comment
    return slots


def approval_request_slots(r: Reading) -> dict:
    return {"approval_type": _group("approval_types", r.masked) or "other", "details": r.text}


def kpi_slots(r: Reading) -> dict:
    slots = {}
    for slot, group in (("scope", "kpi_scope"), ("period", "kpi_period"), ("metric", "kpi_metric")):
        value = _group(group, r.masked)
        if value:
            slots[slot] = value
    return slots
