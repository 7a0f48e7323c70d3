"""The recogniser against the labelled evaluation sets in tests/eval/ (dev and held-out),
with their clients loaded into a fresh database first. Fails below 95% intent accuracy or
90% slot accuracy on either set."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import yaml

EVAL = Path(__file__).parents[1] / "eval"
SETS = ("dev", "heldout")
# Free-text slots are scored only where the label gives them.
FREE_TEXT = {"summary", "content", "details", "comment", "interest"}


def load_cases(name: str) -> list[dict]:
    """A set's cases; "dev" is dev.yaml with every dev_<name>.yaml (cases added per task)."""
    paths = [EVAL / f"{name}.yaml"] + (sorted(EVAL.glob("dev_*.yaml")) if name == "dev" else [])
    cases = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        now = data["now"]
        cases += [{**case, "now": datetime.fromisoformat(str(case.get("now", now))), "slots": case.get("slots") or {}}
                  for case in data["cases"]]
    return cases


def load_clients(session) -> None:
    """The clients the sets assume (tests/eval/clients.yaml), into an empty database."""
    from crm_core.accounts import Account
    from crm_core.clients import Client, ClientType

    rows = yaml.safe_load((EVAL / "clients.yaml").read_text(encoding="utf-8"))["clients"]
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
    slots_right: int = 0
    slots_total: int = 0
    confusion: Counter = field(default_factory=Counter)  # (expected, got) -> count
    misses: list = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.cases if self.cases else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.slots_total if self.slots_total else 1.0


def evaluate(cases: list[dict], recognizer, index) -> Score:
    score = Score()
    for case in cases:
        got = recognizer.recognize(case["text"], index=index, now=case["now"])
        score.cases += 1
        score.confusion[(case["intent"], got.name)] += 1
        labelled = case["slots"]
        predicted = {k: v for k, v in got.slots.items() if k not in FREE_TEXT or k in labelled}
        keys = set(labelled) | set(predicted)
        right = sum(1 for k in keys if k in labelled and k in predicted and same(labelled[k], predicted[k]))
        score.slots_right += right
        score.slots_total += len(keys)
        if got.name == case["intent"]:
            score.intents_right += 1
        if got.name != case["intent"] or right != len(keys):
            score.misses.append((case["text"], case["intent"], labelled, got.name, predicted))
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


@pytest.mark.parametrize("name", SETS)
def test_accuracy_on_the_evaluation_sets(name, eval_index):
    from intents.rules import RuleRecognizer

    score = evaluate(load_cases(name), RuleRecognizer(), eval_index)
    misses = "\n".join(f"  {text!r}: want {want} {ws}, got {got} {gs}" for text, want, ws, got, gs in score.misses)
    assert score.intent_accuracy >= 0.95, f"{name}: intent accuracy {score.intent_accuracy:.1%}\n{misses}"
    assert score.slot_accuracy >= 0.90, f"{name}: slot accuracy {score.slot_accuracy:.1%}\n{misses}"


def test_the_sets_are_big_enough_and_cover_the_catalog():
    from intents.catalog import catalog

    cases = [case for name in SETS for case in load_cases(name)]
    assert len(cases) >= 400 and len(load_cases("heldout")) >= 100
    assert {case["intent"] for case in cases} == set(catalog())
    texts = [case["text"] for case in cases]
    assert len(texts) == len(set(texts)), "a text is labelled twice"
