"""The LLM tool schema, generated from the catalog (one function per intent), and the check
of a proposed call against the same catalog: unknown intents rejected, unknown slots and
values that do not fit their slot's type dropped, times normalised to the business zone."""
from __future__ import annotations

import math
import re
from datetime import date, datetime, tzinfo

from intents.catalog import IntentSpec, SlotSpec, catalog
from intents.types import Intent

JSON_TYPES = {"client": "string", "text": "string", "date_or_time": "string", "enum": "string",
              "integer": "integer", "number": "number"}
# SPEC section 7 slot-value conventions, by slot type.
TYPE_HINTS = {
    "client": "the client mention exactly as written: a name, a title such as 王总, or an account number",
    "date_or_time": "ISO 8601 in the business time zone: YYYY-MM-DDTHH:MM:SS with its UTC offset, "
                    "or YYYY-MM-DD alone when no time of day was said",
    "integer": "an integer",
}
PRONOUN = re.compile(r"他|她|它|他们|这个客户|该客户|这位|那位|客户|this client|him|her|them", re.I)


def _function(spec: IntentSpec) -> dict:
    properties = {}
    for slot in spec.slots.values():
        if slot.type not in JSON_TYPES:
            raise ValueError(f"catalog slot {spec.name}.{slot.name} has unknown type {slot.type!r}")
        prop: dict = {"type": JSON_TYPES[slot.type]}
        description = "; ".join(d for d in (slot.description, TYPE_HINTS.get(slot.type, "")) if d)
        if description:
            prop["description"] = description
        if slot.type == "enum":
            prop["enum"] = list(slot.values)
        properties[slot.name] = prop
    description = spec.description
    if spec.examples:
        description += " Examples: " + " | ".join(spec.examples)
    return {"type": "function",
            "function": {"name": spec.name, "description": description,
                         "parameters": {"type": "object", "properties": properties,
                                        "additionalProperties": False}}}


def tool_schema() -> list[dict]:
    return [_function(spec) for spec in catalog().values()]


def _text(value, slot: SlotSpec, tz):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if slot.type == "client" and PRONOUN.fullmatch(value):
        return None  # "他": the conversation context supplies the client
    return value


def _enum(value, slot: SlotSpec, tz):
    if not isinstance(value, str):
        return None
    by_lower = {v.lower(): v for v in slot.values}
    return by_lower.get(value.strip().lower())


def _number(value, slot: SlotSpec, tz):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        cleaned = re.sub(r"[,\s#%]", "", value)
        try:
            value = float(cleaned)
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if slot.type == "integer":
        return int(value) if float(value).is_integer() else None
    return int(value) if float(value).is_integer() else float(value)


def _date_or_time(value, slot: SlotSpec, tz: tzinfo | None):
    if not isinstance(value, str):
        return None
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if tz is not None:
        moment = moment.astimezone(tz) if moment.tzinfo else moment.replace(tzinfo=tz)
    return moment.isoformat()


COERCE = {"client": _text, "text": _text, "enum": _enum, "integer": _number, "number": _number,
          "date_or_time": _date_or_time}


def validate(name, args, *, tz: tzinfo | None = None, confidence: float = 0.75) -> Intent | None:
    """The proposal as an Intent with only the slots that fit, or None for a name outside the
    catalog or arguments that are not an object."""
    spec = catalog().get(name) if isinstance(name, str) else None
    if spec is None or not isinstance(args, dict):
        return None
    slots = {}
    for key, value in args.items():
        slot = spec.slots.get(key)
        if slot is None or value is None:
            continue
        clean = COERCE[slot.type](value, slot, tz)
        if clean is not None:
            slots[key] = clean
    return Intent(name=name, slots=slots, confidence=confidence, source="llm")
