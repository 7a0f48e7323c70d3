"""The intent catalog as data (catalog.yaml), loaded once."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")


@dataclass(frozen=True)
class SlotSpec:
    name: str
    type: str
    values: tuple[str, ...] = ()
    description: str = ""
    required: bool = False  # the handler asks for it when missing; nothing to confirm before


@dataclass(frozen=True)
class IntentSpec:
    name: str
    description: str
    slots: dict[str, SlotSpec]
    examples: tuple[str, ...]
    needs_client: bool = False
    write: bool = False
    confirm: bool = False  # a write confirmed (确认/取消) before it is saved, however sure the reading
    # Asked in a group chat: "dm" answers the asker directly (the group is told so), "post" answers
    # in the group (answers that carry nothing about any client), "refuse" answers nothing but
    # "ask me in a direct chat". Unset means "dm", so a new intent cannot leak into a group.
    in_group: str = "dm"


IN_GROUP = ("dm", "post", "refuse")


@lru_cache(maxsize=1)
def catalog() -> dict[str, IntentSpec]:
    data = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))["intents"]
    specs = {}
    for name, body in data.items():
        slots = {slot: SlotSpec(slot, spec["type"], tuple(spec.get("values", ())), spec.get("description", ""),
                                 bool(spec.get("required")))
                 for slot, spec in (body.get("slots") or {}).items()}
        in_group = body.get("in_group", "dm")
        if in_group not in IN_GROUP:
            raise ValueError(f"{CATALOG_FILE.name}: {name}: in_group must be one of {', '.join(IN_GROUP)}")
        specs[name] = IntentSpec(name=name, description=body["description"], slots=slots,
                                 examples=tuple(body.get("examples") or ()),
                                 needs_client=bool(body.get("needs_client")), write=bool(body.get("write")),
                                 confirm=bool(body.get("confirm")), in_group=in_group)
    return specs
