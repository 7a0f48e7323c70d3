"""record_assessment: a client's suitability questionnaire result, told in chat as a score
(张三的风险测评62分) or a level (张三风险测评结果C4, then the score is asked for: it is what the
questionnaire gives and what is kept). Always shown first and saved only after 确认; the level
must agree with the score by the bands of suitability.yaml (crm_core.suitability.record_result)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from crm_core.clients import RISK_LEVELS
from crm_core.suitability import (
    SuitabilityError,
    check_result,
    default_valid_until,
    packaged_rules,
    record_result,
)
from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

NUMBER = re.compile(r"(?<![\d.])-?\d{1,6}(?![\d.])")
ASKED = "score_asked"  # a slot of our own: the score is the answer to our question


@dataclass(frozen=True)
class Result:
    points: int
    level: str
    valid_until: date


def _ask_score(ctx: HandlerContext, intent: Intent, key: str, **values) -> Reply:
    ctx.state["ask"] = {"intent": intent.name, "slots": {**intent.slots, "score": None, ASKED: True},
                        "client_id": ctx.client.id, "lang": ctx.lang, "slot": "score"}
    return Reply(ctx.t(key, client=ctx.client.name, **values))


def _read(ctx: HandlerContext, intent: Intent) -> Result | Reply:
    rules = ctx.suitability or packaged_rules()
    level = str(intent.slots.get("level") or "").strip().upper() or None
    if level is not None and level not in RISK_LEVELS:
        return Reply(ctx.t("assessment_bad_level", level=level))
    said = intent.slots.get("score")
    if said in (None, ""):
        return _ask_score(ctx, intent, "assessment_ask_score")
    number = said if isinstance(said, int) else NUMBER.search(str(said))
    if number is None:
        return _ask_score(ctx, intent, "assessment_score_unreadable", answer=str(said))
    points = number if isinstance(number, int) else int(number.group())
    try:
        level = check_result(points=points, level=level, rules=rules)
    except SuitabilityError as exc:
        if intent.slots.get(ASKED):  # the score answered our question: ask again
            return _ask_score(ctx, intent, "assessment_score_again", reason=ctx.t(exc.key, **exc.params))
        return Reply(ctx.t(exc.key, client=ctx.client.name, **exc.params))
    return Result(points, level, default_valid_until(ctx.now.astimezone(ctx.tz).date(), rules))


def preview(ctx: HandlerContext, intent: Intent) -> str | Reply:
    """What is about to be saved, for the confirmation; or a question or refusal instead."""
    read = _read(ctx, intent)
    if isinstance(read, Reply):
        return read
    return ctx.t("assessment_summary", client=ctx.client.name, score=read.points, level=read.level,
                 valid_until=read.valid_until.isoformat())


@handler("record_assessment")
def record(ctx: HandlerContext, intent: Intent) -> Reply:
    read = _read(ctx, intent)
    if isinstance(read, Reply):
        return read
    previous = ctx.client.risk_level
    record_result(session=ctx.session, actor=ctx.staff, client=ctx.client, points=read.points, level=read.level,
                  assessed_at=ctx.now, valid_until=read.valid_until, rules=ctx.suitability or packaged_rules(),
                  source=ctx.source)
    key = "assessment_recorded" if previous in (None, read.level) else "assessment_recorded_changed"
    return Reply(ctx.t(key, client=ctx.client.name, score=read.points, level=read.level, previous=previous,
                       valid_until=read.valid_until.isoformat()))


record.preview = preview
