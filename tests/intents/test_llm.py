"""The optional LLM recogniser against a local fake OpenAI-compatible server: asked only when
the rules are unsure, its answer checked against the catalog, and the rules' answer kept on a
slow, failing or nonsensical endpoint. Phone and ID numbers never leave unmasked."""
import json
import time
from datetime import datetime

import pytest
from pydantic import ValidationError

from bot.pipeline import Pipeline
from bot.settings import Settings
from intents.catalog import catalog
from intents.llm import LLMRecognizer
from intents.llm_schema import JSON_TYPES
from intents.mentions import ClientIndex
from intents.recognize import Recognizer, build_recognizer
from intents.types import Intent
from tests.fakes.openai_server import (Answer, FakeOpenAI, rate_limited, server_error, slow, text_answer,
                                       tool_call)

NOW = datetime.fromisoformat("2026-11-18T09:30:00+08:00")
KEY = "sk-test-key"


class FixedRules:
    """Stands in for the rules with a fixed answer, so these tests do not follow rule changes."""

    def __init__(self, name="unknown", confidence=0.0, **slots):
        self.answer = Intent(name, slots, confidence)
        self.asked = 0

    def recognize(self, text, *, index, now):
        self.asked += 1
        return Intent(self.answer.name, dict(self.answer.slots), self.answer.confidence)


@pytest.fixture
def fake():
    with FakeOpenAI(api_key=KEY) as server:
        yield server


def llm(fake, timeout=0.5, api_key=KEY):
    return LLMRecognizer(base_url=fake.base_url, api_key=api_key, model="fake-model", timeout=timeout)


def recognize(fake, text, rules=None, **kw):
    return Recognizer(rules or FixedRules(), llm(fake, **kw)).recognize(text, index=ClientIndex(), now=NOW)


def test_tool_schema_has_every_catalog_intent_and_slot(fake):
    tools = {t["function"]["name"]: t["function"] for t in llm(fake).tools}
    assert set(tools) == set(catalog())
    for name, spec in catalog().items():
        params = tools[name]["parameters"]
        assert set(params["properties"]) == set(spec.slots)
        for slot in spec.slots.values():
            prop = params["properties"][slot.name]
            assert prop["type"] == JSON_TYPES[slot.type]
            assert prop.get("enum", []) == list(slot.values)


def test_unsure_rules_ask_the_llm_and_its_answer_is_checked(fake):
    fake.answer("拜访", tool_call("log_interaction", {
        "client": "张总", "channel": "in person", "when": "2026-11-18T15:00:00", "summary": "聊了套保",
        "next_followup": "下周二", "mood": "good"}))
    intent = recognize(fake, "今天下午去拜访了张总，聊了套保")
    assert intent.name == "log_interaction" and intent.source == "llm" and intent.confidence == 0.75
    # bad enum, unparsable time and unknown slot dropped; a naive time put in the business zone
    assert intent.slots == {"client": "张总", "when": "2026-11-18T15:00:00+08:00", "summary": "聊了套保"}
    body = fake.requests[0]
    assert body["model"] == "fake-model" and body["tool_choice"] == "auto"
    assert {t["function"]["name"] for t in body["tools"]} == set(catalog())
    assert "2026-11-18T09:30+08:00" in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": "今天下午去拜访了张总，聊了套保"}


@pytest.mark.parametrize("name, args, slots", [
    ("decide_approval", {"approval_id": "#123", "decision": "APPROVE", "comment": "ok"},
     {"approval_id": 123, "decision": "approve", "comment": "ok"}),
    ("decide_approval", {"approval_id": 12.5, "decision": "maybe"}, {}),
    ("find_clients", {"risk_above": "80%", "top": "many", "risk_level": "C9", "no_contact_days": 30.0},
     {"risk_above": 80, "no_contact_days": 30}),
    ("create_reminder", {"when": "2026-11-19", "content": "给张三打电话", "client": "他"},
     {"when": "2026-11-19", "content": "给张三打电话"}),
    ("ack_alert", {"alert_id": True, "comment": ["x"]}, {}),
])
def test_slot_values_are_coerced_or_dropped(fake, name, args, slots):
    fake.default = tool_call(name, args)
    intent = recognize(fake, "随便一句话")
    assert (intent.name, intent.slots) == (name, slots)


def test_sure_rules_make_no_request(fake):
    from intents.rules import RuleRecognizer

    assert recognize(fake, "帮助", rules=RuleRecognizer()).source == "rules"
    sure = FixedRules("query_margin", 0.9, client="张三")
    assert recognize(fake, "张三的保证金", rules=sure).slots == {"client": "张三"}
    assert fake.requests == []


def test_low_confidence_rules_ask_and_same_intent_keeps_the_rules_slots(fake):
    fake.default = tool_call("query_positions", {"client": "王总"})
    rules = FixedRules("query_positions", 0.5, instrument="rb2601")
    intent = recognize(fake, "王总那边 rb2601 还有多少", rules=rules)
    assert intent.source == "llm" and intent.slots == {"client": "王总", "instrument": "rb2601"}
    assert len(fake.requests) == 1


@pytest.mark.parametrize("answer", [
    slow(5, tool_call("help", {})), server_error(), rate_limited(1), tool_call("log_interaction", '{"client": "张'),
    tool_call("transfer_money", {"amount": 100}), tool_call("unknown", {}), tool_call("help", '["a list"]'),
    text_answer("您好，请问有什么可以帮您？"), Answer(raw=b"<html>502 Bad Gateway</html>"),
    Answer(message={"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                                          "function": {"name": "help", "arguments": {"x": 1}}}]}),
], ids=["slow", "500", "429", "malformed-arguments", "unknown-intent", "llm-says-unknown", "not-an-object",
        "no-tool-call", "not-json", "arguments-not-a-string"])
def test_failing_or_nonsense_endpoint_leaves_the_rules_answer(fake, answer, caplog):
    fake.default = answer
    rules = FixedRules("query_margin", 0.5, client="张三")
    started = time.monotonic()
    intent = recognize(fake, "张三那个怎么样了", rules=rules, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert (intent.name, intent.slots, intent.source) == ("query_margin", {"client": "张三"}, "rules")
    assert len(fake.requests) == 1  # max_retries=0: never a second try, even on 429 or 500
    if answer.message is None or answer.delay:
        assert any(r.levelname == "WARNING" and r.name == "brokerbot.llm" for r in caplog.records)


def test_wrong_api_key_is_refused_and_the_rules_answer(fake):
    fake.default = tool_call("help", {})
    assert recognize(fake, "啥", api_key="sk-wrong").source == "rules"
    assert len(fake.requests) == 1


def test_phone_and_id_numbers_are_masked_before_leaving_and_restored_locally(fake):
    text = "新线索王五，手机138-1234-5678，身份证11010119900307451X，办公室010-87654321，对期权感兴趣"
    fake.default = tool_call("create_lead", {"client": "王五", "phone": "138****5678", "interest": "期权",
                                             "source": "办公室010-****4321"})
    intent = recognize(fake, text)
    sent = json.dumps(fake.requests, ensure_ascii=False)
    for secret in ("1234-5678", "12345678", "19900307", "87654321"):
        assert secret not in sent
    assert "138****5678" in sent and "110***********451X" in sent and "010-****4321" in sent
    assert intent.slots == {"client": "王五", "phone": "138-1234-5678", "interest": "期权",
                            "source": "办公室010-87654321"}


@pytest.mark.parametrize("text, phone", [("线索 王五 13912345678", "13912345678"), ("线索 王五", None)])
def test_a_leads_phone_comes_from_the_message_never_from_the_llm(fake, text, phone):
    fake.default = tool_call("create_lead", {"client": "王五", "phone": "13800000000"})
    assert recognize(fake, text).slots.get("phone") == phone


def test_known_account_numbers_go_out_as_written(fake):
    index = ClientIndex()
    index.by_account = {"901234567890123": 1}
    Recognizer(FixedRules(), llm(fake)).recognize("901234567890123 和 110101199003074514", index=index, now=NOW)
    sent = fake.requests[0]["messages"][1]["content"]
    assert sent == "901234567890123 和 110***********4514"


def test_build_recognizer_reads_the_settings(fake):
    assert build_recognizer(Settings(database_url="sqlite://")).llm is None
    assert build_recognizer(Settings(database_url="sqlite://", llm_base_url=fake.base_url)).llm is None
    configured = build_recognizer(Settings(database_url="sqlite://", llm_base_url=fake.base_url, llm_api_key=KEY,
                                           llm_model="fake-model", llm_timeout_seconds=0.7))
    assert configured.llm.timeout == 0.7 and configured.llm.client.max_retries == 0
    assert Settings(database_url="sqlite://").llm_timeout_seconds == 3.0
    with pytest.raises(ValidationError):
        Settings(database_url="sqlite://", llm_timeout_seconds=0)


def test_chat_answers_from_the_rules_when_the_llm_hangs(app, session, fake):
    from bot.platforms.terminal.adapter import TerminalSession
    from crm_core.staff import Role
    from tests import factories as f

    f.staff(session, "m1", "王芳", Role.manager, f.team(session, "华东一部"))
    session.commit()
    fake.default = slow(10, tool_call("help", {}))
    settings = app.settings.model_copy(update=dict(llm_base_url=fake.base_url, llm_api_key=KEY,
                                                   llm_model="fake-model", llm_timeout_seconds=0.5))
    chat = TerminalSession("m1", Pipeline(app, recognizer=build_recognizer(settings)).handle, now=NOW,
                           tz=app.db.tz)
    started = time.monotonic()
    reply = chat.send("今天天气真不错啊")
    assert time.monotonic() - started < 1.5
    assert reply.text and len(fake.requests) == 1
