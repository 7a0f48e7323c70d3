"""The rule recogniser: cue words and patterns, with the CRM's client names for mentions.

Confidence: about 0.9 when the intent's cue and a client found in the CRM agree; 0.8 when the
client comes from the conversation (他的持仓呢); 0.65 when the client was only guessed from the
sentence's shape (a lead, a name not in the CRM); 0.75 when the name was mistyped and read as
the client it is closest to (孙志墙 -> 孙志强, intents.fuzzy_names): below the pipeline's
CONFIDENT, so a write on such a name is shown for confirmation first; 0.6 or less for weak cues;
0 for `unknown`.
"""
from __future__ import annotations

import re
from datetime import datetime

from intents.catalog import catalog
from intents.classify import classify
from intents.client_index import ClientIndex
from intents.reading import Reading
from intents.readers import CLIENT_READERS, SLOT_READERS
from intents.types import Intent

GUESSED = 0.65
FROM_CONTEXT = 0.8
NEAR_NAME = 0.75


def language_of(text: str) -> str | None:
    """zh, en, or None when the text says nothing about it ("2", "#45")."""
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]{2,}", text) else None


class RuleRecognizer:
    def recognize(self, text: str, *, index: ClientIndex, now: datetime) -> Intent:
        r = Reading.of(str(text).strip(), index, now)
        name, confidence = classify(r)
        intent = Intent(name=name, confidence=confidence)
        if name == "unknown":
            intent.confidence = 0.0
            return intent
        spec = catalog()[name]
        rule = spec.rule
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
