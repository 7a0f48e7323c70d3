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

from intents.chinese import pinyin_key, simplify
from intents.names import institution_aliases, name_key, surname_of, title_at

ACCOUNT_RE = re.compile(r"(?<!\d)\d{6,16}(?!\d)")
EN_TITLES = {"mr", "mrs", "ms", "miss", "dr"}


@dataclass
class Mention:
    text: str  # as written
    start: int
    end: int
    client_ids: list[int] = field(default_factory=list)  # every client it could mean
    by_account: bool = False
    kind: str = "name"  # name | alias | pinyin | title | account | pattern (not from the CRM)


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
        self.by_surname: dict[str, tuple[int, ...]] = {}
        self.by_en_surname: dict[str, tuple[int, ...]] = {}
        self.by_account: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.tags: set[str] = set()
        self._first: dict[str, tuple[int, ...]] = {}  # first character -> key lengths, longest first
        self._by_char: dict[str, list[int]] | None = None  # for close_names, built when first asked
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
            pinyin = pinyin_key(key)
            if pinyin:
                yield self.by_pinyin, pinyin
        elif key.isascii() and " " in key:
            yield self.by_en_surname, key.rsplit(" ", 1)[1]

    def add(self, cid: int, name: str, institution: bool = False) -> None:
        if cid in self.names:
            self.remove(cid)
        self.names[cid] = name
        self._by_char = None
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
        for table, key in self._keys(cid, name, institution):
            _drop(table, key, cid)

    # -- reading ---------------------------------------------------------------------------
    def find(self, text: str, norm: str | None = None) -> list[Mention]:
        """Clients named in `text` (names, short names, pinyin, titles, accounts), left to right.
        `norm` is `text` already simplified (intents.chinese.simplify), when the caller has it."""
        from intents.scan import find

        return find(self, text, norm if norm is not None else simplify(text))

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

    def refresh(self, session) -> "ClientIndex":
        """Bring the index in step with the database of `session` (see intents.mentions)."""
        from intents.mentions import refresh

        return refresh(self, session)

    def invalidate(self) -> None:
        """Check the database for changes before the next message is read."""
        if self.sync is not None:
            self.sync.stale = True
