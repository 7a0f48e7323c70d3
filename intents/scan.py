"""Reading client mentions out of a message in one pass over it: account numbers, then Chinese
names and short names (longest first at each position, via the index's first-character table),
surnames with titles, then runs of ASCII words (English names, pinyin, Mr Smith)."""
from __future__ import annotations

import re

from intents.client_index import ACCOUNT_RE, EN_TITLES, ClientIndex, Mention
from intents.names import is_han, title_at

WORD_RE = re.compile(r"[a-z]+")


def find(index: ClientIndex, text: str, norm: str) -> list[Mention]:
    """Clients named in `text` (`norm` is its simplified form, the same length), left to right."""
    found: list[Mention] = []
    taken = bytearray(len(norm))

    def take(start: int, end: int, ids, kind: str) -> None:
        found.append(Mention(text[start:end], start, end, list(ids), kind == "account", kind))
        taken[start:end] = b"\1" * (end - start)

    for m in ACCOUNT_RE.finditer(norm):
        if m.group() in index.by_account:
            take(m.start(), m.end(), [index.by_account[m.group()]], "account")
    i, n = 0, len(norm)
    while i < n:
        if taken[i] or not is_han(norm[i]):
            i += 1
            continue
        end = _name_at(index, norm, i, taken)
        if end:
            key = norm[i:end]
            ids = index.by_name.get(key)
            take(i, end, ids or index.aliases[key], "name" if ids else "alias")
            i = end
            continue
        titled = title_at(norm, i, index.by_surname)
        if titled:
            surname, end = titled
            take(i, end, index.by_surname.get(surname, ()), "title")
            i = end
            continue
        i += 1
    _find_ascii(index, norm, taken, take)
    found.sort(key=lambda m: m.start)
    return found

def _name_at(index: ClientIndex, norm: str, i: int, taken: bytearray) -> int:
    for length in index._first.get(norm[i], ()):
        key = norm[i:i + length]
        if len(key) == length and (key in index.by_name or key in index.aliases) and not any(taken[i:i + length]):
            return i + length
    return 0

def _find_ascii(index: ClientIndex, norm: str, taken: bytearray, take) -> None:
    words = [m for m in WORD_RE.finditer(norm) if not taken[m.start()]]
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + 4), i, -1):
            run = words[i:j]
            if any(norm[a.end():b.start()].strip() for a, b in zip(run, run[1:])):
                continue
            tokens = [w.group() for w in run]
            spaced, joined = " ".join(tokens), "".join(tokens)
            hit = (index.by_name.get(spaced), "name") if spaced in index.by_name else \
                  (index.by_pinyin.get(joined), "pinyin") if joined in index.by_pinyin else (None, "")
            if hit[0] is None and len(tokens) == 2 and tokens[0] in EN_TITLES:
                hit = (index.by_en_surname.get(tokens[1]), "title")
            if hit[0]:
                take(run[0].start(), run[-1].end(), hit[0], hit[1])
                i = j - 1
                break
        i += 1
