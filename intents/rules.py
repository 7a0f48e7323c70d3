"""The recogniser: rules (cue words and patterns, with the CRM's client names for mentions) and
the statistical model (intents/model.py) together.

The rules are exact where they can be (ids, account numbers, amounts, times: the slot readers);
the model generalises over wording. Which intent: where both agree, the rules' reading at the
rules' confidence; where the rules find nothing, the model's, if it is sure enough; where they
disagree, the model overrules only when it is sure and gives the rules' intent almost nothing,
and otherwise the rules' intent stands with its confidence lowered. Lowered and model-only
readings stay under the dialog's CONFIDENT, so a write read that way is shown for 确认 first. A
write intent on a message shaped as a question (吗, 有没有, ？ ...) is confirmed first as well:
a question is never saved as a record.

Confidence: about 0.9 when the intent's cue and a client found in the CRM agree; 0.8 when the
client comes from the conversation (他的持仓呢); 0.65 when the client was only guessed from the
sentence's shape (a lead, a name not in the CRM); 0.75 or less where the model decided or
doubted, and when the name was mistyped and read as the client it is closest to (孙志墙 -> 孙志强,
intents.fuzzy_names): below the pipeline's CONFIDENT, so a write read so is shown for
confirmation first; 0.6 or less for weak cues; 0 for `unknown`.
"""
from __future__ import annotations

import re
from datetime import datetime

from intents.catalog import catalog
from intents.classify import classify
from intents.client_index import ClientIndex
from intents.model import model
from intents.reading import Reading
from intents.readers import CLIENT_READERS, SLOT_READERS
from intents.types import Intent

GUESSED = 0.65
FROM_CONTEXT = 0.8
# The model and the rules (see the module's docstring), chosen by five-fold cross-validation on the
# training examples (benchmarks/model_cv.py; never on an evaluation set). Every
# reading the model made or doubted stays below the dialog's CONFIDENT (0.8).
MODEL_ONLY = 0.75  # the most a reading only the model made is worth
MODEL_SURE = 0.3  # the model's probability at which it names an intent where the rules found none
OVERRULE = 0.35  # ... at which it replaces the rules' intent, when it gives that one under RULES_DOUBTED
RULES_DOUBTED = 0.5
DOUBTED = 0.7  # the rules' confidence where the model gives their intent under DOUBT
DOUBT = 0.4
WORDS = re.compile(r"[\u4e00-\u9fff]|[a-z]{2,}")
QUESTION = re.compile(r"[?？]|吗|么$|呢$|有没有|有无|是否|了没|没有?$|多久|几次|多少次|什么时候|哪些|哪个|\bdid\b|\bhave i\b")
NEAR_NAME = 0.75


def language_of(text: str) -> str | None:
    """zh, en, or None when the text says nothing about it ("2", "#45")."""
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]{2,}", text) else None


class RuleRecognizer:
    def __init__(self, use_model: bool = True):
        self.use_model = use_model  # False: the rules alone (for measuring what the model adds)

    def decide(self, r: Reading, name: str, confidence: float) -> tuple[str, float]:
        return _decide(r, name, confidence) if self.use_model else (name, confidence)

    def recognize(self, text: str, *, index: ClientIndex, now: datetime) -> Intent:
        r = Reading.of(str(text).strip(), index, now)
        name, confidence = self.decide(r, *classify(r))
        intent = Intent(name=name, confidence=confidence)
        if name == "unknown":
            intent.confidence = 0.0
            return intent
        spec = catalog()[name]
        if spec.write and QUESTION.search(r.norm):
            intent.confidence = min(intent.confidence, DOUBTED)
        rule = spec.rule or NO_RULE
        client = CLIENT_READERS[rule.client_from](r) if "client" in spec.slots else None
        if client is not None:
            intent.slots["client"] = client.text
            if not client.client_ids:
                intent.confidence = min(intent.confidence, GUESSED)
            elif client.kind == "near":  # the slot names the client meant, so handlers find it
                intent.slots["client"] = index.names[client.client_ids[0]]
                intent.confidence = min(intent.confidence, NEAR_NAME)
        elif spec.needs_client:
            intent.confidence = min(intent.confidence, FROM_CONTEXT)
        # The slot readers see the client as the message names it, else as read above.
        named = r.client or client
        for reader in rule.readers:
            intent.slots.update(SLOT_READERS[reader](r, named))
        for slot, cap in rule.weak_without.items():
            if slot not in intent.slots:
                intent.confidence = min(intent.confidence, cap)
        return intent


class _NoRule:
    """How an intent the catalog gives no rule (only the model finds it) reads its slots."""
    client_from = "mention_or_guess"
    readers: tuple = ()
    weak_without: dict = {}


NO_RULE = _NoRule()


def _decide(r: Reading, name: str, confidence: float) -> tuple[str, float]:
    learned = model()
    if learned is None or len(WORDS.findall(r.masked)) < 2:  # "2", "40", "#45": answers, not requests
        return name, confidence
    best, p, table = learned.predict(r)
    if best not in catalog():  # trained on an intent this catalog no longer has
        return name, confidence
    if best == name:
        return name, confidence
    if name != "unknown" and name not in table:  # an intent the model never saw (a plug-in's): the rules' call
        return name, confidence
    if name == "unknown":
        return (best, min(p, MODEL_ONLY)) if best != "unknown" and p >= MODEL_SURE else (name, confidence)
    if p >= OVERRULE and table.get(name, 0.0) < RULES_DOUBTED:
        return (best, min(p, MODEL_ONLY)) if best != "unknown" else ("unknown", 0.0)
    if table.get(name, 0.0) < DOUBT:
        return name, min(confidence, DOUBTED)
    return name, confidence
