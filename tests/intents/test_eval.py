"""The recogniser against the labelled evaluation sets in tests/eval/, with their clients loaded
into a fresh database first: dev (dev.yaml and dev_*.yaml: tuned on), heldout (written before the
rules were tuned, 2026-11-21, commit 9005dd4) and heldout2 (written for issue 13 by someone who never
saw the rules, committed in a705737 before any tuning; never tuned on). Fails below 95% intent
accuracy or 90% slot accuracy on a set, or on any write that would be saved unconfirmed on a
wrong reading."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import yaml

EVAL = Path(__file__).parents[1] / "eval"
SETS = ("dev", "heldout", "heldout2")
# Free-text slots are scored only where the label gives them.
FREE_TEXT = {"summary", "content", "details", "comment", "interest"}
# heldout2's own conventions (its header): `when` of a log and the scope of a KPI question are
# labelled only when the message says them, so an unlabelled one is not scored there.
UNLABELLED_UNSCORED = {"heldout2": {"log_interaction": {"when"}, "kpi_report": {"scope"}}}


def load_cases(name: str) -> list[dict]:
    """A set's cases; "dev" also takes every tests/eval/dev_<topic>.yaml (same format)."""
    files = [EVAL / f"{name}.yaml"] + (sorted(EVAL.glob("dev_*.yaml")) if name == "dev" else [])
    cases = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        now = data["now"]
        skip = UNLABELLED_UNSCORED.get(name, {})
        cases += [{**case, "now": datetime.fromisoformat(str(case.get("now", now))), "slots": case.get("slots") or {},
                   "unscored": skip.get(case["intent"], set()) - set(case.get("slots") or {})}
                  for case in data["cases"]]
    return cases


def load_clients(session) -> None:
    """The clients the sets assume (tests/eval/clients.yaml), into an empty database."""
    from crm_core.accounts import Account
    from crm_core.clients import Client, ClientType

    rows = [row for name in ("clients.yaml", "clients_extra.yaml")
            for row in yaml.safe_load((EVAL / name).read_text(encoding="utf-8"))["clients"]]
    for row in rows:
        client = Client(name=row["name"], client_type=ClientType(row.get("type", "individual")),
                        risk_level=row.get("risk_level"))
        client.set_tags(row.get("tags", []))
        session.add(client)
        session.flush()
        for no in row.get("accounts", []):
            session.add(Account(account_no=no, client_id=client.id))
    session.commit()


def same(expected, got) -> bool:
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return float(expected) == float(got)
    return str(expected) == str(got)


@dataclass
class Score:
    cases: int = 0
    intents_right: int = 0
    frames_right: int = 0  # intent and every slot right
    slots_right: int = 0
    slots_total: int = 0
    unconfirmed_wrong_writes: list = field(default_factory=list)  # saved without 确认 on a misreading
    confusion: Counter = field(default_factory=Counter)  # (expected, got) -> count
    misses: list = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.cases if self.cases else 0.0

    @property
    def frame_accuracy(self) -> float:
        return self.frames_right / self.cases if self.cases else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.slots_total if self.slots_total else 1.0


def saved_unconfirmed(intent) -> bool:
    """Whether the dialog would save this reading without asking for 确认 (intents/dialog.py)."""
    from intents.catalog import catalog
    from intents.dialog import CONFIDENT

    spec = catalog().get(intent.name)
    return bool(spec is not None and spec.write and not spec.confirm and intent.confidence >= CONFIDENT)


def evaluate(cases: list[dict], recognizer, index) -> Score:
    score = Score()
    for case in cases:
        got = recognizer.recognize(case["text"], index=index, now=case["now"])
        score.cases += 1
        score.confusion[(case["intent"], got.name)] += 1
        labelled = case["slots"]
        predicted = {k: v for k, v in got.slots.items()
                     if (k not in FREE_TEXT or k in labelled) and k not in case.get("unscored", ())}
        keys = set(labelled) | set(predicted)
        right = sum(1 for k in keys if k in labelled and k in predicted and same(labelled[k], predicted[k]))
        score.slots_right += right
        score.slots_total += len(keys)
        if got.name == case["intent"]:
            score.intents_right += 1
        wrong = got.name != case["intent"] or right != len(keys)
        if wrong:
            score.misses.append((case["text"], case["intent"], labelled, got.name, predicted))
        else:
            score.frames_right += 1
        if wrong and saved_unconfirmed(got):
            score.unconfirmed_wrong_writes.append((case["text"], case["intent"], got.name, predicted))
    return score


@pytest.fixture(scope="module")
def eval_index(tmp_path_factory):
    from bot.app import App
    from bot.settings import Settings
    from intents.client_index import ClientIndex
    from intents.mentions import refresh

    folder = tmp_path_factory.mktemp("eval")
    app = App(Settings(database_url=f"sqlite:///{folder / 'eval.db'}", secret_key="brokerbot-eval-key-0123456789",
                       data_dir=folder, timezone="Asia/Shanghai")).ready()
    with app.db.session() as session:
        load_clients(session)
        index = refresh(ClientIndex(), session)
    yield index
    app.close()


# (intent accuracy, slot accuracy, writes saved unconfirmed on a misreading) a set may not fall
# below / rise above. heldout2's are a guard against regressions, a little under what it measured
# when the model was first merged (91.0% intent, 88.1% slots, 1 such write; issue 13's goal is 97%,
# 95% and 0): they are not a target anyone tunes towards.
FLOORS = {"dev": (0.95, 0.90, 0), "heldout": (0.95, 0.90, 0), "heldout2": (0.89, 0.86, 1)}


@pytest.mark.parametrize("name", SETS)
def test_accuracy_on_the_evaluation_sets(name, eval_index):
    from intents.rules import RuleRecognizer

    score = evaluate(load_cases(name), RuleRecognizer(), eval_index)
    # The held-out sets' texts are never shown (nobody may tune on them): their confusion pairs are.
    misses = "\n".join(f"  {text!r}: want {want} {ws}, got {got} {gs}" for text, want, ws, got, gs in score.misses) \
        if name == "dev" else "\n".join(f"  {want} -> {got}: {n}" for (want, got), n in score.confusion.items()
                                       if want != got)
    intent_floor, slot_floor, wrong_writes = FLOORS[name]
    assert score.intent_accuracy >= intent_floor, f"{name}: intent accuracy {score.intent_accuracy:.1%}\n{misses}"
    assert score.slot_accuracy >= slot_floor, f"{name}: slot accuracy {score.slot_accuracy:.1%}\n{misses}"
    assert len(score.unconfirmed_wrong_writes) <= wrong_writes, \
        f"{name}: {len(score.unconfirmed_wrong_writes)} writes would be saved unconfirmed on a misreading"


def test_the_sets_are_big_enough_and_cover_the_catalog():
    from intents.catalog import catalog

    cases = [case for name in SETS for case in load_cases(name)]
    assert len(cases) >= 400 and len(load_cases("heldout")) >= 100 and len(load_cases("heldout2")) >= 300
    assert {case["intent"] for case in cases} == set(catalog())
    for name in SETS:
        texts = [case["text"] for case in load_cases(name)]
        assert len(texts) == len(set(texts)), f"{name}: a text is labelled twice"
    # heldout2 was written apart from the others: short common messages (帮助) may recur there, but
    # no dev case may be added that copies a held-out one (dev is tuned on).
    seen = {case["text"] for case in load_cases("heldout")}
    dev_added = [case["text"] for case in load_cases("dev")[len(yaml.safe_load((EVAL / "dev.yaml").read_text(
        encoding="utf-8"))["cases"]):]]
    assert not [t for t in dev_added if t in seen or t in {c["text"] for c in load_cases("heldout2")}]
