"""The statistical model beside the rules (issue 13): it is trained on the data in the repository,
it reads wordings the rules have no cue for, and it never makes the bot save a write on its own
say-so: a reading it decided or doubted is shown for 确认 first."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from intents.client_index import ClientIndex
from intents.dialog import CONFIDENT
from intents.model import MODEL_FILE, IntentModel, training_digest
from intents.rules import RuleRecognizer
from bot.intent_training import sources

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def index() -> ClientIndex:
    index = ClientIndex()
    for cid, name in enumerate(["张三", "李四", "王建国", "欧阳娜娜", "赵敏"], start=1):
        index.add(cid, name)
    return index


def test_the_shipped_model_was_trained_on_the_data_in_the_repository():
    """Edit intents/training/*.yaml, the catalog's examples or the dev set, and forget
    `python -m bot.intent_training`: this fails."""
    assert MODEL_FILE.is_file(), "run python -m bot.intent_training"
    assert IntentModel.load().digest == training_digest(sources()), "the data changed: run python -m bot.intent_training"


@pytest.mark.parametrize("text, intent", [
    ("张三这个账户安全不安全", "query_margin"),
    ("李四还扛得住吗", "query_margin"),
    ("王建国做的多单还是空单", "query_positions"),
    ("介绍一下欧阳娜娜", "client_profile"),
    ("which of my clients are above 90% risk", "find_clients"),
    ("跟张三喝了个茶，聊了聊明年的套保计划", "log_interaction"),
    ("电联李四，提醒他追保", "log_interaction"),
    ("下单买10手螺纹", "unknown"),
])
def test_wordings_the_rules_have_no_cue_for(index, text, intent):
    assert RuleRecognizer().recognize(text, index=index, now=NOW).name == intent


@pytest.mark.parametrize("text", ["欧阳娜娜最近有没有联系过", "今天拜访张三了吗？", "上次给李四打电话是什么时候",
                                  "赵敏要不要追保，我昨天去拜访过了吗"])
def test_a_question_is_never_saved_as_a_record(index, text):
    got = RuleRecognizer().recognize(text, index=index, now=NOW)
    assert got.name != "log_interaction" or got.confidence < CONFIDENT


def test_a_reading_only_the_model_made_is_confirmed_before_it_is_written(index):
    rules_alone = RuleRecognizer(use_model=False).recognize("今天和李四碰了个头", index=index, now=NOW)
    both = RuleRecognizer().recognize("今天和李四碰了个头", index=index, now=NOW)
    assert rules_alone.name == "unknown"
    assert both.name == "log_interaction" and both.confidence < CONFIDENT and both.slots["client"] == "李四"


def test_every_write_and_its_slots_have_labels_for_the_confirmation():
    """The confirmation lists a write's slots by label (the model can pick any write, with any slots)."""
    from bot.messages import Messages
    from intents.catalog import catalog

    table = Messages.load(None).table
    missing = [f"slot_{slot}" for name, spec in catalog().items() if spec.write for slot in spec.slots
               if f"slot_{slot}" not in table]
    missing += [f"intent_{name}" for name, spec in catalog().items() if spec.write and f"intent_{name}" not in table]
    assert not missing, missing
