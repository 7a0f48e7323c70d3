"""Client mentions: find them in a message from the CRM's own names and account numbers,
and resolve them to clients the asking person may see.

The index is built once per process and rebuilt only when the clients or accounts change
(a cheap count/max query per message tells), never by scanning clients for each message.
"""
from __future__ import annotations

import difflib
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.accounts import Account
from crm_core.clients import Client

ACCOUNT_RE = re.compile(r"(?<!\d)\d{6,16}(?!\d)")
ASCII_NAME = re.compile(r"[A-Za-z]")


def _key(name: str) -> str:
    return " ".join(name.lower().split())


@dataclass
class Mention:
    text: str  # as written
    start: int
    end: int
    client_ids: list[int] = field(default_factory=list)  # every client it could mean
    by_account: bool = False


class ClientIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self.by_name: dict[str, list[int]] = {}
        self.by_account: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.by_char: dict[str, set[str]] = {}
        self.lengths: list[int] = []

    @staticmethod
    def _current_version(session: Session) -> tuple:
        clients = session.execute(select(func.count(Client.id), func.max(Client.updated_at))).one()
        accounts = session.execute(select(func.count(Account.id), func.max(Account.updated_at))).one()
        return (*clients, *accounts)

    def refresh(self, session: Session) -> "ClientIndex":
        version = self._current_version(session)
        if version == self._version:
            return self
        with self._lock:
            by_name: dict[str, list[int]] = defaultdict(list)
            names: dict[int, str] = {}
            by_char: dict[str, set[str]] = defaultdict(set)
            for cid, name in session.execute(select(Client.id, Client.name).order_by(Client.id)):
                by_name[_key(name)].append(cid)
                names[cid] = name
                for ch in set(name):
                    by_char[ch].add(name)
            self.by_name, self.names, self.by_char = dict(by_name), names, dict(by_char)
            self.by_account = {no: cid for no, cid in session.execute(select(Account.account_no, Account.client_id))}
            self.lengths = sorted({len(k) for k in self.by_name if len(k) >= 2}, reverse=True)
            self._version = version
        return self

    def find(self, text: str) -> list[Mention]:
        """Known client names and account numbers in `text`, longest first, no overlaps."""
        lowered = text.lower()
        found: list[Mention] = []
        taken = [False] * len(text)
        for m in ACCOUNT_RE.finditer(text):
            if m.group() in self.by_account:
                found.append(Mention(m.group(), m.start(), m.end(), [self.by_account[m.group()]], True))
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
        for length in self.lengths:
            for start in range(0, len(lowered) - length + 1):
                if any(taken[start:start + length]):
                    continue
                ids = self.by_name.get(lowered[start:start + length])
                if not ids:
                    continue
                piece = text[start:start + length]
                if ASCII_NAME.search(piece) and not _word_bounded(lowered, start, start + length):
                    continue
                found.append(Mention(piece, start, start + length, list(ids)))
                taken[start:start + length] = [True] * length
        found.sort(key=lambda m: m.start)
        return found

    def close_names(self, mention: str, allowed: set[int] | None, limit: int = 3) -> list[str]:
        pool: set[str] = set()
        for ch in set(mention):
            pool |= self.by_char.get(ch, set())
        if allowed is not None:
            pool = {n for n in pool if any(cid in allowed for cid in self.by_name.get(_key(n), ()))}
        return difflib.get_close_matches(mention, sorted(pool), n=limit, cutoff=0.4)


def _word_bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


# Names not yet in the CRM, recognised by the shape of the question ("王五的保证金").
PATTERN_MENTION = re.compile(
    r"(?:查一?下|看一?下|看看|帮我查|查询|查)?(?P<name>[\u4e00-\u9fff]{2,4}?)(?:的|有|是)")
EN_PATTERN_MENTION = re.compile(
    r"\b(?:for|of|about|with|visited|called|met)\s+(?P<name>[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)?)")

_INDEXES: dict[str, ClientIndex] = {}


def index_for(session: Session) -> ClientIndex:
    """The index of the session's database (one per database URL in this process)."""
    url = str(session.get_bind().url)
    index = _INDEXES.get(url)
    if index is None:
        index = _INDEXES.setdefault(url, ClientIndex())
    return index.refresh(session)
