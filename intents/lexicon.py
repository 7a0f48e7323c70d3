"""The recogniser's words, loaded once from lexicon.yaml (names, products, typos) and
keywords.yaml (cue patterns per intent and slot)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from intents.chinese import fix_typos, simplify

HERE = Path(__file__).parent


def cue_pattern(raw: str) -> re.Pattern:
    """A pattern written over several lines in YAML: the lines are joined without spaces."""
    return re.compile("".join(line.strip() for line in raw.splitlines()))


@dataclass(frozen=True)
class Lexicon:
    typos: dict[str, str]
    surnames: frozenset[str]
    titles: tuple[str, ...]
    title_prefixes: tuple[str, ...]
    title_breakers: tuple[str, ...]
    not_names: frozenset[str]
    cities: tuple[str, ...]
    legal_forms: tuple[str, ...]
    industries: tuple[str, ...]
    products: tuple[tuple[str, str], ...]  # (alias, code), longest alias first
    codes: dict[str, str]  # lower-case code -> code as the exchange spells it
    tags: tuple[str, ...]
    lead_sources: tuple[str, ...]
    cues: dict[str, re.Pattern]
    groups: dict[str, dict[str, re.Pattern]]  # channels, approval_types, kpi_* : value -> pattern


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    words = yaml.safe_load((HERE / "lexicon.yaml").read_text(encoding="utf-8"))
    cues = yaml.safe_load((HERE / "keywords.yaml").read_text(encoding="utf-8"))
    products = [(simplify(alias), code) for code, aliases in words["products"].items() for alias in aliases]
    groups = {key: {value: cue_pattern(raw) for value, raw in cues.pop(key).items()}
              for key in ("channels", "approval_types", "kpi_scope", "kpi_period", "kpi_metric")}
    by_length = lambda items: tuple(sorted(items, key=len, reverse=True))  # noqa: E731
    return Lexicon(
        typos=dict(words["typos"]),
        surnames=frozenset(words["surnames"].split()),
        titles=by_length(words["titles"]),
        title_prefixes=tuple(words["title_prefixes"]),
        title_breakers=tuple(words["title_breakers"]),
        not_names=frozenset(words["not_names"]),
        cities=by_length(words["cities"]),
        legal_forms=by_length(words["legal_forms"]),
        industries=by_length(words["industries"]),
        products=tuple(sorted(products, key=lambda p: len(p[0]), reverse=True)),
        codes={code.lower(): code for code in words["products"]},
        tags=by_length(words["tags"]),
        lead_sources=by_length(cues.pop("lead_sources")),
        cues={name: cue_pattern(raw) for name, raw in cues.items()},
        groups=groups,
    )


def normalise(text: str) -> str:
    """Simplified, half-width, lower case, typos fixed; the same length as `text`."""
    return fix_typos(simplify(text), lexicon().typos)


CONTRACT = re.compile(r"(?<![a-z])([a-z]{1,2})(\d{3,4})(?!\d)")
BARE_CODE = re.compile(r"(?<![a-z])([a-z]{1,2})(?![a-z])")


def instrument(norm: str) -> tuple[str, int, int] | None:
    """A contract (rb2601) or a product (螺纹 -> rb) named in the normalised text, with its span."""
    lex = lexicon()
    for m in CONTRACT.finditer(norm):
        code = lex.codes.get(m.group(1))
        if code:
            return code + m.group(2), m.start(), m.end()
    for alias, code in lex.products:
        at = norm.find(alias)
        if at >= 0 and (alias.isascii() is False or _ascii_bounded(norm, at, at + len(alias))):
            return code, at, at + len(alias)
    for m in BARE_CODE.finditer(norm):  # "张三 rb 持仓": two-letter codes, only among Chinese
        code = lex.codes.get(m.group(1))
        if code and len(code) == 2 and not norm.isascii():
            return code, m.start(), m.end()
    return None


def _ascii_bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())
