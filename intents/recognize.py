"""Recognition as the pipeline calls it: the rules first; the LLM, when one is configured,
only where the rules are unsure. An LLM answer is a proposal: its confidence is capped below
the handlers' threshold for unconfirmed writes, and permissions apply to it as to the rules'."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from intents.mentions import ClientIndex
from intents.rules import RuleRecognizer
from intents.types import Intent

log = logging.getLogger("brokerbot.recognize")

UNSURE_BELOW = 0.6  # rules' confidence under which the LLM is asked
LLM_CONFIDENCE_CAP = 0.75  # so that writes the LLM understood are shown for 确认 first


class Proposer(Protocol):
    def propose(self, text: str, *, now: datetime, keep: set[str]) -> Intent | None: ...


class Recognizer:
    def __init__(self, rules=None, llm: Proposer | None = None):
        self.rules = rules or RuleRecognizer()
        self.llm = llm

    def recognize(self, text: str, *, index: ClientIndex, now: datetime) -> Intent:
        ruled = self.rules.recognize(text, index=index, now=now)
        if self.llm is None or (ruled.name != "unknown" and ruled.confidence >= UNSURE_BELOW):
            return ruled
        # Known account numbers are client mentions, not personal data: they go out unmasked.
        keep = {m.text for m in index.find(text) if m.by_account}
        proposed = self.llm.propose(text, now=now, keep=keep)
        if proposed is None or proposed.name == "unknown":
            return ruled
        if proposed.name == ruled.name:  # same reading: keep what the rules found and the LLM left out
            proposed.slots = {**ruled.slots, **proposed.slots}
        proposed.confidence = min(proposed.confidence, LLM_CONFIDENCE_CAP)
        proposed.source = "llm"
        log.info("LLM proposal %s used (rules said %s at %.2f)", proposed.name, ruled.name, ruled.confidence)
        return proposed


def build_recognizer(settings) -> Recognizer:
    """Rules only unless BROKERBOT_LLM_BASE_URL and BROKERBOT_LLM_MODEL are both set."""
    if not (settings.llm_base_url and settings.llm_model):
        if settings.llm_base_url or settings.llm_model:
            log.warning("BROKERBOT_LLM_BASE_URL and BROKERBOT_LLM_MODEL are needed together; rules only")
        return Recognizer()
    from intents.llm import (
        LLMRecognizer,  # imports openai (~0.4 s): only when configured
    )

    return Recognizer(llm=LLMRecognizer(base_url=settings.llm_base_url, api_key=settings.reveal("llm_api_key"),
                                        model=settings.llm_model, timeout=settings.llm_timeout_seconds))
