"""The rule recogniser: cue words and patterns, with the CRM's client names for mentions.

Confidence: about 0.9 when the intent's cue and a client found in the CRM agree; 0.8 when the
client comes from the conversation (他的持仓呢); 0.65 when the client was only guessed from the
sentence's shape (a lead, a name not in the CRM); 0.6 or less for weak cues; 0 for `unknown`.
"""
from __future__ import annotations

import re
from datetime import datetime

from intents.catalog import catalog
from intents.classify import classify
from intents.client_index import ClientIndex, Mention
from intents.lexicon import instrument
from intents.reading import Reading
from intents.slots_admin import (
    ack_slots,
    approval_request_slots,
    decision_slots,
    kpi_slots,
)
from intents.slots_find import filters
from intents.slots_write import assessment_slots, lead_slots, log_slots, reminder_slots
from intents.types import Intent

GUESSED = 0.65
FROM_CONTEXT = 0.8


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
        client = self._client(r, name) if "client" in spec.slots else None
        if client is not None:
            intent.slots["client"] = client.text
            if not client.client_ids:
                intent.confidence = min(intent.confidence, GUESSED)
        elif spec.needs_client:
            intent.confidence = min(intent.confidence, FROM_CONTEXT)
        intent.slots.update(self._slots(r, name, intent))
        if name == "create_reminder" and "when" not in intent.slots:
            intent.confidence = min(intent.confidence, 0.7)
        if name == "create_lead" and "client" not in intent.slots:
            intent.confidence = min(intent.confidence, 0.5)
        return intent

    @staticmethod
    def _client(r: Reading, name: str) -> Mention | None:
        if name == "create_lead":
            return r.guess(lead=True) or r.client or r.guess()
        if name == "list_approvals":
            return r.client
        return r.client or r.guess()

    @staticmethod
    def _slots(r: Reading, name: str, intent: Intent) -> dict:
        if name == "query_positions":
            found = instrument(r.masked)
            return {"instrument": found[0]} if found else {}
        if name == "log_interaction":
            client = r.client or (Mention(str(intent.slots["client"]), 0, 0) if "client" in intent.slots else None)
            return log_slots(r, client)
        extract = SLOT_READERS.get(name)
        return extract(r) if extract else {}


# Intents whose slots come from the message alone.
SLOT_READERS = {
    "find_clients": lambda r: filters(r.masked, r.tags),
    "create_reminder": reminder_slots,
    "create_lead": lead_slots,
    "request_approval": approval_request_slots,
    "decide_approval": decision_slots,
    "ack_alert": ack_slots,
    "kpi_report": kpi_slots,
    "record_assessment": assessment_slots,
}
