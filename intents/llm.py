"""The LLM recogniser: one chat completion with tool calling against any OpenAI-compatible
endpoint. It only proposes; the answer is checked against the catalog (intents.llm_schema),
and any failure or delay means "no answer", so the caller keeps the rules' result.

Phone and ID numbers are masked before the text leaves and restored locally afterwards.
"""
from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

import openai

from intents.llm_schema import tool_schema, validate
from crm_core.masking import mask_personal, phones_in
from intents.types import Intent

log = logging.getLogger("brokerbot.llm")


def system_prompt(now: datetime) -> str:
    zone = getattr(now.tzinfo, "key", None) or now.strftime("UTC%z")
    return (
        "You classify one message from a futures brokerage account manager (usually Chinese) into "
        "exactly one of the given functions and fill its parameters from the message. Call exactly "
        "one function; call `unknown` when none fits.\n"
        f"Current time: {now.isoformat(timespec='minutes')} ({now.strftime('%A')}), time zone {zone}. "
        "Resolve relative times (明天, 下周二, 月底, next Monday) against it.\n"
        "Slot conventions: `client` is the mention exactly as written (a name, a title such as 王总, "
        "or an account number), never a pronoun; times are ISO 8601 in that time zone, a date alone "
        "(YYYY-MM-DD) when no time of day was said; ids are integers; enums take only the listed "
        "values. Leave out whatever the message does not say. Digits shown as * are masked on purpose: "
        "copy them as they are.")


class LLMRecognizer:
    """`propose(text, now=...)` returns a validated Intent or None; it never raises."""

    def __init__(self, *, base_url: str, api_key: str | None, model: str, timeout: float = 3.0):
        self.model, self.timeout = model, timeout
        # max_retries=0: the timeout is our whole budget, after it the rules answer.
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout,
                                    max_retries=0)
        self.tools = tool_schema()
        # The client's timeout bounds each read; this bounds the whole call (a trickling server).
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="brokerbot-llm")

    def propose(self, text: str, *, now: datetime, keep: set[str] = frozenset()) -> Intent | None:
        masked, restore = mask_personal(text, keep)
        try:
            future = self._pool.submit(self._ask, masked, now)
            name, arguments = future.result(timeout=self.timeout)
        except FutureTimeout:
            log.warning("LLM gave no answer within %.1f s; the rules answer", self.timeout)
            return None
        except Exception as exc:  # any failure of the endpoint means: the rules answer
            log.warning("LLM call failed (%s: %s); the rules answer", type(exc).__name__, exc)
            return None
        if name is None:
            log.warning("LLM answered without a tool call; the rules answer")
            return None
        try:
            args = json.loads(arguments or "{}")
        except (TypeError, ValueError):
            log.warning("LLM tool call %s had malformed arguments; the rules answer", name)
            return None
        intent = validate(name, args, tz=now.tzinfo)
        if intent is None:
            log.warning("LLM proposed %r, not a catalog intent with arguments; the rules answer", name)
            return None
        self._restore(intent, text, restore)
        return intent

    def _ask(self, masked: str, now: datetime) -> tuple[str | None, str | None]:
        # tool_choice "auto" (the API's default with tools) rather than "required", which not every
        # OpenAI-compatible server implements; a reply without a tool call is no answer anyway.
        response = self.client.chat.completions.create(
            model=self.model, temperature=0, tools=self.tools, tool_choice="auto",
            messages=[{"role": "system", "content": system_prompt(now)}, {"role": "user", "content": masked}])
        calls = response.choices[0].message.tool_calls if response.choices else None
        function = getattr(calls[0], "function", None) if calls else None
        if function is None:
            return None, None
        return function.name, function.arguments

    @staticmethod
    def _restore(intent: Intent, text: str, restore: dict[str, str]) -> None:
        """Masked numbers back to the real ones, locally; a lead's phone only from the text."""
        for slot, value in list(intent.slots.items()):
            if isinstance(value, str):
                for masked, original in restore.items():
                    value = value.replace(masked, original)
                intent.slots[slot] = value
        if intent.name == "create_lead":
            phones = phones_in(text)
            said = intent.slots.get("phone")
            if said not in phones:
                intent.slots.pop("phone", None)
                if phones:
                    intent.slots["phone"] = phones[0]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
