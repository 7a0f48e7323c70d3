"""The intent catalog as data: intents/catalog.yaml, merged with the `catalog.yaml` fragment of
every plug-in package that intents.registry.load_all loaded. Validated when it loads: an unknown
cue, slot reader, client condition or check, a bad pattern or a bad or shared priority, a name
defined twice: start-up stops with the file and the entry named."""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intents.lexicon import cue_pattern, lexicon
from intents.readers import CHECKS, CLIENT_CONDITIONS, CLIENT_READERS, SLOT_READERS

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
FRAGMENT = "catalog.yaml"  # a plug-in package's own entries, beside its handler modules
IN_GROUP = ("dm", "post", "refuse")
SLOT_TYPES = ("client", "text", "date_or_time", "enum", "integer", "number")


class CatalogError(ValueError):
    """The catalog or a plug-in's fragment is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class SlotSpec:
    name: str
    type: str
    values: tuple[str, ...] = ()
    description: str = ""
    required: bool = False  # the handler asks for it when missing; nothing to confirm before


@dataclass(frozen=True)
class When:
    """One way a message fits an intent: every listed condition holds."""

    confidence: float
    cues: tuple[str, ...] = ()  # cue names (keywords.yaml) that must all be found
    without: tuple[str, ...] = ()  # cue names none of which may be found
    patterns: tuple[re.Pattern, ...] = ()  # the entry's own cue patterns, all found
    client: str | None = None  # a CLIENT_CONDITIONS name
    checks: tuple[str, ...] = ()  # CHECKS names
    finds: str | None = None  # a slot reader that must find something


@dataclass(frozen=True)
class Rule:
    """How the rule recogniser finds an intent: entries are tried by priority (lowest first) and
    the first `when` that holds wins."""

    priority: int
    when: tuple[When, ...]
    client_from: str = "mention_or_guess"  # a CLIENT_READERS name, for intents with a client slot
    readers: tuple[str, ...] = ()  # SLOT_READERS names, applied in order
    weak_without: dict[str, float] = field(default_factory=dict)  # confidence cap when a slot is missing


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
    rule: Rule | None = None  # None: never chosen by the rules (the LLM may still propose it)


# -- the schema of one entry ------------------------------------------------------------------
def _known(kind: str, names: Iterable[str], table) -> None:
    for name in names:
        if name not in table:
            raise ValueError(f"unknown {kind} {name!r} (known: {', '.join(sorted(table))})")


class _Slot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal[SLOT_TYPES]
    values: list[str] = []
    description: str = ""
    required: bool = False


class _When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confidence: float | None = Field(default=None, ge=0, le=1)
    cues: list[str] = []
    without: list[str] = []
    patterns: list[str] = []
    client: str | None = None
    checks: list[str] = []
    finds: str | None = None

    @field_validator("cues", "without")
    @classmethod
    def _cues(cls, names):
        _known("cue", names, lexicon().cues)
        return names

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, raws):
        for raw in raws:
            try:
                cue_pattern(raw)
            except re.error as exc:
                raise ValueError(f"pattern {raw!r}: {exc}") from None
        return raws

    @field_validator("client")
    @classmethod
    def _client(cls, name):
        _known("client condition", [name] if name else [], CLIENT_CONDITIONS)
        return name

    @field_validator("checks")
    @classmethod
    def _checks(cls, names):
        _known("check", names, CHECKS)
        return names

    @field_validator("finds")
    @classmethod
    def _finds(cls, name):
        _known("slot reader", [name] if name else [], SLOT_READERS)
        return name

    @model_validator(mode="after")
    def _something(self):
        if not (self.cues or self.patterns or self.client or self.checks or self.finds):
            raise ValueError("a `when` needs at least one of cues, patterns, client, checks, finds")
        return self


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int = Field(ge=1, le=10_000)
    confidence: float = Field(default=0.9, ge=0, le=1)
    when: list[_When] = Field(min_length=1)
    client_from: str = "mention_or_guess"
    readers: list[str] = []
    weak_without: dict[str, float] = {}

    @field_validator("client_from")
    @classmethod
    def _client_from(cls, name):
        _known("client reader", [name], CLIENT_READERS)
        return name

    @field_validator("readers")
    @classmethod
    def _readers(cls, names):
        _known("slot reader", names, SLOT_READERS)
        return names


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str
    slots: dict[str, _Slot] | None = None
    examples: list[str] = []
    needs_client: bool = False
    write: bool = False
    confirm: bool = False
    in_group: Literal[IN_GROUP] = "dm"
    rule: _Rule | None = None


def _spec(name: str, entry: _Entry) -> IntentSpec:
    slots = {slot: SlotSpec(slot, s.type, tuple(s.values), s.description, s.required)
             for slot, s in (entry.slots or {}).items()}
    rule = None
    if entry.rule is not None:
        r = entry.rule
        for slot in r.weak_without:
            if slot not in slots:
                raise ValueError(f"rule.weak_without: {slot!r} is not one of the entry's slots")
        when = tuple(When(confidence=w.confidence if w.confidence is not None else r.confidence,
                          cues=tuple(w.cues), without=tuple(w.without),
                          patterns=tuple(cue_pattern(p) for p in w.patterns), client=w.client,
                          checks=tuple(w.checks), finds=w.finds) for w in r.when)
        rule = Rule(priority=r.priority, when=when, client_from=r.client_from, readers=tuple(r.readers),
                    weak_without=dict(r.weak_without))
    return IntentSpec(name=name, description=entry.description, slots=slots, examples=tuple(entry.examples),
                      needs_client=entry.needs_client, write=entry.write, confirm=entry.confirm,
                      in_group=entry.in_group, rule=rule)


def _entries(path: Path) -> dict[str, IntentSpec]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise CatalogError(f"{path}: expected a mapping `intents:` of intent entries")
    where = path.name if path == CATALOG_FILE else str(path)  # a plug-in's fragment: its whole path
    specs = {}
    for name, body in data["intents"].items():
        try:
            specs[name] = _spec(name, _Entry.model_validate(body))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}"
                                 for e in exc.errors())
            raise CatalogError(f"{where}: intent {name}: {problems}") from None
        except ValueError as exc:
            raise CatalogError(f"{where}: intent {name}: {exc}") from None
    return specs


# -- the merged catalog -----------------------------------------------------------------------
_packages: tuple[str, ...] = ()


def fragment_of(package: str) -> Path | None:
    """The catalog.yaml beside a package's modules, if it has one."""
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / FRAGMENT).is_file():
            return Path(folder) / FRAGMENT
    return None


def use_packages(packages: Iterable[str]) -> None:
    """The catalog from now on: the built-in entries plus the fragments of these packages."""
    global _packages
    _packages = tuple(packages)
    catalog.cache_clear()
    by_priority.cache_clear()


@lru_cache(maxsize=1)
def catalog() -> dict[str, IntentSpec]:
    specs = _entries(CATALOG_FILE)
    origin = {name: CATALOG_FILE.name for name in specs}
    for package in _packages:
        path = fragment_of(package)
        if path is None:
            continue
        for name, spec in _entries(path).items():
            if name in specs:
                raise CatalogError(f"{path}: intent {name} is already defined in {origin[name]}")
            specs[name], origin[name] = spec, str(path)
    by_priority: dict[int, str] = {}
    for name, spec in specs.items():
        if spec.rule is None:
            continue
        taken = by_priority.setdefault(spec.rule.priority, name)
        if taken != name:
            raise CatalogError(f"{origin[name]}: intent {name}: rule.priority {spec.rule.priority} "
                               f"is already the priority of {taken}")
    return specs


@lru_cache(maxsize=1)
def by_priority() -> tuple[IntentSpec, ...]:
    """The entries the rule recogniser tries, in order."""
    return tuple(sorted((s for s in catalog().values() if s.rule is not None), key=lambda s: s.rule.priority))
