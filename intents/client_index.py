"""The in-memory index of client names: built once, updated row by row, read per message.

Keys: full names (simplified, lower case), institutions' short names, pinyin of Chinese names
("zhangsan"), surnames for titles (王总 -> every 王), English surnames (Mr Smith), accounts.
`find` reads a message in one pass; `lookup` resolves one mention as written.
"""
from __future__ import annotations

import difflib
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from intents.chinese import simplify
from intents.fuzzy_names import MIN_LATIN, loose, pinyin_keys
from intents.names import institution_aliases, is_han, name_key, surname_of, title_at

ACCOUNT_RE = re.compile(r"(?<!\d)\d{6,16}(?!\d)")
EN_TITLES = {"mr", "mrs", "ms", "miss", "dr"}
WORD_RE = re.compile(r"[a-z]+")


@dataclass
class Mention:
    text: str  # as written
    start: int
    end: int
    client_ids: list[int] = field(default_factory=list)  # every client it could mean
    by_account: bool = False
    kind: str = "name"  # name | alias | pinyin | title | account | pattern (not from the CRM) | near (a typo)


def _add(table: dict, key: str, cid: int) -> None:
    ids = table.get(key, ())
    if cid not in ids:
        table[key] = ids + (cid,)


def _drop(table: dict, key: str, cid: int) -> None:
    ids = tuple(i for i in table.get(key, ()) if i != cid)
    if ids:
        table[key] = ids
    else:
        table.pop(key, None)


class ClientIndex:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_name: dict[str, tuple[int, ...]] = {}
        self.aliases: dict[str, tuple[int, ...]] = {}
        self.by_pinyin: dict[str, tuple[int, ...]] = {}
        self.by_loose: dict[str, tuple[int, ...]] = {}  # loose pinyin (intents.fuzzy_names) -> ids
        self.by_surname: dict[str, tuple[int, ...]] = {}
        self.by_en_surname: dict[str, tuple[int, ...]] = {}
        self.by_account: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.tags: set[str] = set()
        self._first: dict[str, tuple[int, ...]] = {}  # first character -> key lengths, longest first
        self._by_char: dict[str, list[int]] | None = None  # for close_names, built when first asked
        self._loose_buckets: dict[tuple[str, int], list[str]] | None = None  # (first letter, length) -> keys
        self._institution: set[int] = set()
        self.sync = None  # refresh bookkeeping, see intents.mentions

    # -- building --------------------------------------------------------------------------
    def _keys(self, cid: int, name: str, institution: bool):
        key = name_key(name)
        yield self.by_name, key
        if institution:
            for alias in institution_aliases(key):
                yield self.aliases, alias
            return
        surname = surname_of(key)
        if surname:
            yield self.by_surname, surname
            readings = pinyin_keys(key, surname)
            for pinyin in readings:
                yield self.by_pinyin, pinyin
            for pinyin in dict.fromkeys(loose(p) for p in readings):
                yield self.by_loose, pinyin
        elif key.isascii() and " " in key:
            yield self.by_en_surname, key.rsplit(" ", 1)[1]

    def add(self, cid: int, name: str, institution: bool = False) -> None:
        if cid in self.names:
            self.remove(cid)
        self.names[cid] = name
        self._by_char = self._loose_buckets = None
        for table, key in self._keys(cid, name, institution):
            _add(table, key, cid)
            if table is not self.by_surname and table is not self.by_en_surname and not key[0].isascii():
                lengths = self._first.get(key[0], ())
                if len(key) not in lengths:
                    self._first[key[0]] = tuple(sorted((*lengths, len(key)), reverse=True))
        if institution:
            self._institution.add(cid)

    def remove(self, cid: int) -> None:
        name = self.names.pop(cid, None)
        if name is None:
            return
        institution = cid in self._institution
        self._institution.discard(cid)
        self._loose_buckets = None
        for table, key in self._keys(cid, name, institution):
            _drop(table, key, cid)

    # -- reading ---------------------------------------------------------------------------
    def find(self, text: str, norm: str | None = None) -> list[Mention]:
        """Clients named in `text` (names, short names, pinyin, titles, accounts), left to right.
        `norm` is `text` already simplified (intents.chinese.simplify), when the caller has it."""
        return scan_text(self, text, norm if norm is not None else simplify(text))

    def lookup(self, mention: str) -> list[int]:
        """Every client a mention as written may mean: a name (simplified or traditional, any
        case), an institution's short name, pinyin with or without spaces, an account number,
        a surname with a title (王总, 老王, Mr Smith). [] when nothing in the CRM fits."""
        key = name_key(str(mention))
        if not key:
            return []
        if key.isdigit():
            cid = self.by_account.get(key)
            return [cid] if cid is not None else []
        ids = self.by_name.get(key) or self.aliases.get(key)
        if not ids and key.isascii():
            ids = self.by_pinyin.get(key.replace(" ", ""))
            parts = key.split()
            if not ids and len(parts) == 2 and parts[0].rstrip(".") in EN_TITLES:
                ids = self.by_en_surname.get(parts[1])
        if not ids:
            titled = title_at(key, 0, self.by_surname)
            if titled and titled[1] == len(key):
                ids = self.by_surname.get(titled[0])
        return sorted(set(ids or ()))

    def close_names(self, mention: str, allowed: set[int] | None, limit: int = 3) -> list[str]:
        """Names that look like `mention` (typos), among the clients in `allowed` if given."""
        if self._by_char is None:
            by_char: dict[str, list[int]] = {}
            for cid, name in self.names.items():
                for ch in set(name_key(name)):
                    by_char.setdefault(ch, []).append(cid)
            self._by_char = by_char
        key = name_key(mention)
        shared: Counter = Counter()
        for ch in set(key):
            shared.update(self._by_char.get(ch, ()))
        pool = {self.names[cid] for cid, count in shared.items()
                if (allowed is None or cid in allowed) and cid in self.names
                and abs(len(self.names[cid]) - len(mention)) <= 2}
        return difflib.get_close_matches(mention, sorted(pool), n=limit, cutoff=0.4)

    def near(self, mention: str, allowed: set[int] | None = None) -> list[int]:
        """The client a mistyped mention most likely means (intents.fuzzy_names says when a name
        is close): every client of that one name, among `allowed` if given; [] when no name or
        more than one is close. For mentions `lookup` does not find."""
        key = name_key(str(mention))
        if not key:
            return []
        if all(is_han(ch) for ch in key):
            surname = surname_of(key)
            if not surname:
                return []
            hits = list(self.by_name.get(key, ()))
            readings = pinyin_keys(key, surname)
            if not hits:  # a homophone: the same pinyin
                hits = [cid for k in readings for cid in self.by_pinyin.get(k, ())]
            if not hits and len(key) >= 3:  # in a longer name one sound may be off too
                looses = {loose(p) for p in readings}
                hits = [cid for k in looses for cid in self.by_loose.get(k, ())] or self._one_letter_off(looses)
                hits = [cid for cid in hits if cid in self.names and len(name_key(self.names[cid])) == len(key)
                        and name_key(self.names[cid]).startswith(surname)]
        elif key.isascii() and key.replace(" ", "").isalpha():
            wanted = loose(key.replace(" ", ""))
            hits = list(self.by_loose.get(wanted, ()))
            if not hits and len(wanted) >= MIN_LATIN:
                hits = self._one_letter_off({wanted})
        else:
            return []
        hits = [cid for cid in hits if cid in self.names and (allowed is None or cid in allowed)]
        if len({name_key(self.names[cid]) for cid in hits}) != 1:
            return []
        return sorted(set(hits))

    def _one_letter_off(self, keys: set[str]) -> list[int]:
        """Clients whose loose pinyin is one edit (OSA: a swap counts one) from one of `keys`."""
        if self._loose_buckets is None:
            buckets: dict[tuple[str, int], list[str]] = {}
            for k in self.by_loose:
                buckets.setdefault((k[0], len(k)), []).append(k)
            self._loose_buckets = buckets
        hits: list[int] = []
        for key in keys:
            for size in (len(key) - 1, len(key), len(key) + 1):
                bucket = self._loose_buckets.get((key[0], size))
                if bucket:
                    for _, _, at in process.extract(key, bucket, scorer=OSA.distance, score_cutoff=1, limit=8):
                        hits.extend(self.by_loose.get(bucket[at], ()))
        return hits

    def invalidate(self) -> None:
        """Check the database for changes before the next message is read."""
        if self.sync is not None:
            self.sync.stale = True


# -- scanning a message for mentions -----------------------------------------------------

def scan_text(index: ClientIndex, text: str, norm: str) -> list[Mention]:
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
