"""Conversations written as data (tests/stories/*.yaml, like Rasa's test stories), each run through
the real pipeline by the testbot fixture on a fresh database: who says what, in which chat, and
what they (and the people it concerns) must read, and what must be written or not.

A story file:

    story: what it shows                       # one line
    world: branch                              # the data set (tests/worlds.py); branch by default
    now: "2026-11-18T09:30:00+08:00"           # the clock of the first message; worlds.NOW by default
    before: [risk scan]                        # what runs before the first message (BEFORE below)
    known_bug: what is wrong today             # the story fails today (a strict xfail)
    steps:
      - as: m1                                 # a staff login
        say: 张伟的保证金                        # or `press: 驳回`: the button with that label on the
        chat: direct                           #   last message said to them that has it
        contains: 有 2 位客户符合               # expectations on the answer (str or list)
        not_contains: [客户权益]
        regex: '1\\. 张伟（账户 9002000\\d'
        intent: query_margin                   # the intent the pipeline took
        choices: ["1", "2"]                    # the values of the answer's buttons
        answer_in: direct                      # where the answer went: direct (to them) or group
        group: nothing                         # nothing posted in the group in this step; or
                                               #   {contains: ..., not_contains: ...} on what was
        sent: {sup1: {contains: 张三}}          # what others received in this step (the outbox)
        nothing_to: [m2]                       # who received nothing in this step
        expect_record: {interaction: {client: 张三, channel: visit}}   # a row with these values
        expect_no_record: {interaction: {}}    # no row with these values ({}: no row at all)

A value "*" in a record's expectations means "set" (not empty).
"""
from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.alerting import Alerting
from crm_core.approvals import ApprovalRequest
from crm_core.clients import Client
from crm_core.interactions import Interaction
from crm_core.reminders import Reminder
from crm_core.risk.alerts import Alert
from crm_core.staff import Staff
from crm_core.suitability import SuitabilityAssessment
from tests.testbot import Said, TestBot
from tests.worlds import NOW, WORLDS

STORIES = sorted((Path(__file__).parents[1] / "stories").glob("*.yaml"))
RECORDS = {"interaction": Interaction, "reminder": Reminder, "client": Client, "approval": ApprovalRequest,
           "assessment": SuitabilityAssessment, "alert": Alert}
BEFORE = {"risk scan": lambda app, now: Alerting(app).evaluate(now=now, actor="risk.scan")}
STORY_KEYS = {"story", "world", "now", "before", "steps", "known_bug"}
SAYING = {"as", "say", "press", "chat"}
EXPECTING = {"contains", "not_contains", "regex", "intent", "choices", "answer_in", "group", "sent",
             "nothing_to", "expect_record", "expect_no_record"}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def check_text(text: str, expected: dict, where: str) -> None:
    for part in as_list(expected.get("contains", [])):
        assert str(part) in text, f"{where}: {part!r} not in {text!r}"
    for part in as_list(expected.get("not_contains", [])):
        assert str(part) not in text, f"{where}: {part!r} in {text!r}"
    for pattern in as_list(expected.get("regex", [])):
        assert re.search(pattern, text), f"{where}: /{pattern}/ does not match {text!r}"


def shown(session, row, key: str):
    """A row's value as a story names it: a client by name, a person by login, an enum by value."""
    if not hasattr(row, key) and hasattr(row, f"{key}_id"):
        ref = getattr(row, f"{key}_id")
        model, label = (Client, "name") if key == "client" else (Staff, "login")
        return None if ref is None else getattr(session.get(model, ref), label)
    value = getattr(row, key)
    if isinstance(value, Client):
        return value.name
    if isinstance(value, Staff):
        return value.login
    if isinstance(value, Enum):
        return value.value
    return value


def matching(app, records: dict) -> dict[str, list]:
    """For each record kind, the rows whose values are the ones asked for."""
    found = {}
    with app.db.session() as session:
        for kind, values in records.items():
            assert kind in RECORDS, f"unknown record kind {kind!r}: one of {sorted(RECORDS)}"
            rows = []
            for row in session.scalars(select(RECORDS[kind])):
                if all((shown(session, row, k) is not None) if v == "*" else str(shown(session, row, k)) == str(v)
                       for k, v in (values or {}).items()):
                    rows.append(row)
            found[kind] = rows
    return found


def button(history: list[Said], login: str, label: str) -> str:
    """The value of the newest button labelled `label` said to `login`: what clicking it sends."""
    for said in reversed(history):
        if said.to == login and any(shown == label for shown, _ in said.choices):
            return said.value_of(label)
    raise AssertionError(f"no message to {login} has a button {label!r}")


def run_step(app, bot: TestBot, history: list[Said], step: dict, where: str) -> None:
    unknown = set(step) - SAYING - EXPECTING
    assert not unknown, f"{where}: unknown keys {sorted(unknown)}"
    login, chat = step["as"], step.get("chat", "direct")
    assert chat in ("direct", "group") and ("say" in step) != ("press" in step), f"{where}: say or press, in direct or group"
    text = str(step["say"]) if "say" in step else button(history, login, step["press"])
    bot.push(text, as_=login, chat=chat)
    said = bot.pop_all()
    history.extend(said)
    answer, others = said[0], said[1:]
    where = f"{where} ({login}: {text!r} -> {answer.text[:300]!r})"

    check_text(answer.text, {k: step[k] for k in ("contains", "not_contains", "regex") if k in step}, where)
    if "intent" in step:
        assert answer.intent == step["intent"], f"{where}: intent {answer.intent}"
    if "choices" in step:
        assert answer.values == [str(c) for c in step["choices"]], f"{where}: choices {answer.choices}"
    if "answer_in" in step:
        assert answer.chat == step["answer_in"], f"{where}: answered in {answer.chat}"
    posted = [s for s in said if s.chat == "group"]
    if step.get("group") == "nothing":
        assert posted == [], f"{where}: posted in the group: {[s.text for s in posted]}"
    elif "group" in step:
        assert posted, f"{where}: nothing posted in the group"
        check_text("\n".join(s.text for s in posted), step["group"], f"{where} [group]")
    for to, expected in (step.get("sent") or {}).items():
        theirs = [s for s in others if s.to == to]
        assert theirs, f"{where}: nothing sent to {to}; sent: {[(s.to, s.text[:80]) for s in others]}"
        text_of = "\n".join(filter(None, [s.title for s in theirs] + [s.text for s in theirs]))
        check_text(text_of, {k: v for k, v in (expected or {}).items() if k != "choices"}, f"{where} [to {to}]")
        if "choices" in (expected or {}):
            labels = [label for s in theirs for label, _ in s.choices]
            assert labels == [str(c) for c in expected["choices"]], f"{where} [to {to}]: buttons {labels}"
    for nobody in as_list(step.get("nothing_to", [])):
        assert not [s for s in others if s.to == nobody], f"{where}: something was sent to {nobody}"
    for kind, rows in matching(app, step.get("expect_record") or {}).items():
        assert rows, f"{where}: no {kind} with {step['expect_record'][kind]}"
    for kind, rows in matching(app, step.get("expect_no_record") or {}).items():
        assert not rows, f"{where}: a {kind} with {step['expect_no_record'][kind]} was written"


def test_there_are_stories():
    assert len(STORIES) >= 8


def run_story(app, session, story: dict, name: str) -> None:
    unknown = set(story) - STORY_KEYS
    assert not unknown and story.get("steps"), f"{name}: unknown keys {sorted(unknown)} or no steps"
    WORLDS[story.get("world", "branch")](app, session)
    now = datetime.fromisoformat(str(story["now"])) if "now" in story else NOW
    bot = TestBot(app, now=now)
    for action in story.get("before", []):
        BEFORE[action](app, now)
    history = bot.pop_all()  # what `before` sent
    for n, step in enumerate(story["steps"], 1):
        run_step(app, bot, history, step, f"{name} step {n}")


@pytest.mark.parametrize("path", STORIES, ids=[p.stem for p in STORIES])
def test_story(app, session, path, request):
    story = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "known_bug" in story:  # fails today; passes (and then fails this mark) once it is fixed
        request.applymarker(pytest.mark.xfail(reason=story["known_bug"], strict=True))
    run_story(app, session, story, path.name)


ASK = {"as": "m1", "say": "帮张三申请手续费优惠 1.2倍"}
RIGHT = {"contains": "已提交审批", "intent": "request_approval", "answer_in": "direct", "group": "nothing",
         "sent": {"sup1": {"contains": "张三", "choices": ["同意", "驳回"]}}, "nothing_to": "m2",
         "expect_record": {"approval": {"client": "张三", "status": "pending"}},
         "expect_no_record": {"interaction": {}}}


@pytest.mark.parametrize("wrong", [
    {"contains": "驳回"}, {"not_contains": "已提交审批"}, {"regex": "^没有"}, {"intent": "query_margin"},
    {"choices": ["1"]}, {"answer_in": "group"}, {"group": {"contains": "张三"}}, {"sent": {"m2": {}}},
    {"sent": {"sup1": {"contains": "李四"}}}, {"sent": {"sup1": {"choices": ["同意"]}}}, {"nothing_to": "sup1"},
    {"expect_record": {"approval": {"status": "approved"}}}, {"expect_no_record": {"approval": {"client": "张三"}}},
    {"expect_record": {"interaction": {}}}, {"typo": 1},
], ids=lambda wrong: next(iter(wrong)))
def test_a_story_expecting_what_did_not_happen_fails(app, session, wrong):
    """Each expectation can fail: the same step passes as written and fails with a wrong one."""
    with pytest.raises(AssertionError):
        run_story(app, session, {"story": "wrong", "steps": [{**ASK, **RIGHT, **wrong}]}, "wrong")


def test_the_step_the_wrong_stories_change_passes_as_written(app, session):
    run_story(app, session, {"story": "right", "steps": [{**ASK, **RIGHT}]}, "right")
