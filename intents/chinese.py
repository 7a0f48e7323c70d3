"""Text normalisation for matching: traditional -> simplified, full-width -> half-width, ASCII
lower case, common typos fixed. Every step maps one character to one character, so positions in
the normalised text are positions in the text as written and mentions can be cut from it.

The traditional -> simplified table is built from zhconv's single-character entries (MediaWiki's
conversion tables); phrases are not needed for names and keywords.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    from zhconv import zhconv

    table = {ord(k): v for k, v in zhconv.getdict("zh-hans").items() if len(k) == 1 and len(v) == 1}
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table[code] = chr(code - 0xFEE0).lower()
    table[0x3000] = " "
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code + 32)
    return table


def simplify(text: str) -> str:
    """Simplified, half-width, ASCII lower case; same length as `text`."""
    return text.translate(_table())


def fix_typos(text: str, typos: dict[str, str]) -> str:
    """Replace known typos by what was meant; each replacement has the typo's length."""
    for wrong, right in typos.items():
        if wrong in text:
            text = text.replace(wrong, right)
    return text

