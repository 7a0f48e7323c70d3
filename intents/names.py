"""Keys under which a client's name is found: the name itself, an institution's short names,
the surname that a title (王总, 老王) points to. Pure functions over lexicon.yaml."""
from __future__ import annotations

from intents.chinese import simplify
from intents.lexicon import lexicon

COMPOUND = 2  # the longest surname, in characters (欧阳)


def name_key(name: str) -> str:
    """How a name is compared: simplified, lower case, single spaces."""
    return " ".join(simplify(name).split())


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def surname_of(key: str) -> str | None:
    """The surname of an individual's Chinese name (2 to 4 characters), else None."""
    if not 2 <= len(key) <= 4 or not all(is_han(ch) for ch in key):
        return None
    if len(key) >= 3 and key[:2] in lexicon().surnames:
        return key[:2]
    return key[0]


def institution_aliases(key: str) -> set[str]:
    """上海汇远投资管理有限公司 -> {上海汇远投资管理, 汇远投资管理, 上海汇远投资, 汇远投资, 汇远, 上海汇远}."""
    lex = lexicon()
    aliases: set[str] = set()
    body = key
    for form in lex.legal_forms:
        if body.endswith(form) and len(body) > len(form) + 1:
            body = body[: -len(form)]
            break
    city = next((c for c in lex.cities if body.startswith(c) and len(body) > len(c) + 1), "")
    core = body[len(city):]
    aliases |= {body, core}
    for industry in lex.industries:
        if core.endswith(industry) and len(core) > len(industry) + 1:
            brand = core[: -len(industry)]
            aliases |= {brand, city + brand if city else brand}
            for shorter in lex.industries:
                if industry.startswith(shorter) and shorter != industry:
                    aliases.add(brand + shorter)
            break
    return {a for a in aliases if len(a) >= 2 and a != key}


def title_at(norm: str, i: int, known: dict) -> tuple[str, int] | None:
    """A surname with a title at position i of the normalised text: (surname, end) or None.

    王总, 李老板, 陈经理, 欧阳总 count for any common surname; 老王 and 小李 only for surnames
    some client has (`known`), and only when no other character of a word follows."""
    lex = lexicon()
    for size in (COMPOUND, 1):
        surname = norm[i:i + size]
        if len(surname) != size or surname not in lex.surnames:
            continue
        at = i + size
        for title in lex.titles:
            if norm.startswith(title, at):
                end = at + len(title)
                if title == "总" and norm.startswith(lex.title_breakers, end):
                    return None
                return surname, end
    if norm[i:i + 1] in lex.title_prefixes and (i == 0 or not is_han(norm[i - 1])):
        for size in (COMPOUND, 1):
            surname = norm[i + 1:i + 1 + size]
            end = i + 1 + size
            if len(surname) == size and surname in known and (end == len(norm) or norm[end] in _AFTER_PREFIX):
                return surname, end
    return None


# What may follow 老王/小李 for it to be a person and not a word (小时, 老师...).
_AFTER_PREFIX = set("的呢吗啊呀吧说这那今明昨上下最还有在要是和跟也都资保持仓可风权账手，,。.?？!！ ")
