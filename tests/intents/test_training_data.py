"""The intent classifier's training examples (intents/training/<intent>.yaml): one file per intent
of SPEC section 7 (and reveal_phone), enough distinct examples each, no message labelled with two
intents or copied from the dev set, and the generated part is what generate.py writes."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from zhconv import convert

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "intents" / "training"
COMMON = ("query_margin", "query_positions", "client_profile", "find_clients", "log_interaction",
          "create_reminder", "create_lead", "request_approval", "kpi_report", "unknown")
OTHERS = ("decide_approval", "list_approvals", "list_alerts", "ack_alert", "contact_history",
          "list_reminders", "undo_last", "update_client", "record_assessment", "list_leads",
          "client_stage", "client_relations", "exposure", "stress_test", "near_liquidation",
          "report", "aml_cases", "help", "reveal_phone")


def same(text: str) -> str:
    """Two messages are the same when they differ only in script, case, spaces or end marks."""
    text = re.sub(r"\s+", " ", convert(text, "zh-hans").lower()).strip()
    return text.rstrip("?？。.!！~ ").strip() or text


def examples(intent: str) -> list[str]:
    data = yaml.safe_load((TRAINING / f"{intent}.yaml").read_text(encoding="utf-8"))
    assert data["intent"] == intent
    return data["examples"]


def test_one_file_per_intent_and_nothing_else():
    assert {p.stem for p in TRAINING.glob("*.yaml")} == set(COMMON + OTHERS)


@pytest.mark.parametrize("intent", COMMON + OTHERS)
def test_enough_distinct_non_empty_examples(intent):
    texts = examples(intent)
    assert all(isinstance(t, str) and t.strip() for t in texts)
    assert len({same(t) for t in texts}) == len(texts)
    assert len(texts) >= (200 if intent in COMMON else 60)


def test_no_message_under_two_intents_and_none_from_the_dev_set():
    owner: dict[str, str] = {}
    clashes = []
    for intent in COMMON + OTHERS:
        for text in examples(intent):
            if owner.setdefault(same(text), intent) != intent:
                clashes.append((text, owner[same(text)], intent))
    assert clashes == []
    dev = {same(str(case["text"]))
           for path in (ROOT / "tests" / "eval").glob("dev*.yaml")
           for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]}
    assert [t for t in owner if t in dev] == []
    assert sum(len(examples(i)) for i in COMMON + OTHERS) >= 4000


def test_the_hard_cases_are_labelled_as_the_brief_says():
    """Records of contacts vs questions about them, and the other confusable pairs."""
    expect = {
        "log_interaction": ["拜访了张三，聊了追保的事", "记一下，李四说下个月5号入金50万", "电联王总，他问持仓风险"],
        "contact_history": ["最近有没有联系过张三", "上次跟张三聊了啥"],
        "list_reminders": ["明天有什么提醒"],  # 我今天有哪些提醒 is a held-out message: not trained on
        "list_approvals": ["我提交的申请批了没"],
        "find_clients": ["which of my clients are above 90% risk", "王芳的客户里风险度超过90%的"],
        "kpi_report": ["王芳这个月的业绩"],
        "update_client": ["给张三加个标签高净值"],
        "undo_last": ["撤销刚才的记录", "刚才记错了"],
        "reveal_phone": ["显示张三电话全号"],
    }
    dev = {same(str(case["text"])): case["intent"] for path in (ROOT / "tests" / "eval").glob("dev*.yaml")
           for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]}
    for intent, texts in expect.items():  # in the training data, or a dev case (which training leaves out)
        have = {same(t) for t in examples(intent)} | {t for t, label in dev.items() if label == intent}
        assert [t for t in texts if same(t) not in have] == [], intent


def test_generate_rewrites_the_same_files(tmp_path):
    """generate.py is deterministic: run on a copy, it writes exactly what is committed."""
    copy = tmp_path / "intents" / "training"
    shutil.copytree(TRAINING, copy)
    (tmp_path / "tests" / "eval").mkdir(parents=True)
    for path in (ROOT / "tests" / "eval").glob("dev*.yaml"):
        shutil.copy(path, tmp_path / "tests" / "eval" / path.name)
    run = subprocess.run([sys.executable, str(copy / "generate.py")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    for path in TRAINING.glob("*.yaml"):
        assert (copy / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), path.name
