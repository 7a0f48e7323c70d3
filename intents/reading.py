"""One message as the recogniser reads it: the text as written, its normalised form, the
clients it names (from the CRM), and a masked form for cue words (names and times blanked)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from intents.client_index import ClientIndex, Mention
from intents.lexicon import lexicon, normalise
from intents.patterns import guess
from intents.timeparse import TimeExpr, parse_times

BLANK = "□"
CLAUSES = re.compile(r"[，,。；;！!？?\n]")


def blank(text: str, spans) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = BLANK * (end - start)
    return "".join(chars)


@dataclass
class Reading:
    text: str
    norm: str
    mentions: list[Mention]
    now: datetime
    tags: set[str] = field(default_factory=set)
    masked: str = ""  # norm with the mentions blanked

    @classmethod
    def of(cls, text: str, index: ClientIndex, now: datetime) -> "Reading":
        norm = normalise(text)
        mentions = index.find(text, norm)
        return cls(text, norm, mentions, now, index.tags, blank(norm, ((m.start, m.end) for m in mentions)))

    @property
    def known(self) -> Mention | None:
        return next((m for m in self.mentions if m.client_ids), None)

    @property
    def client(self) -> Mention | None:
        return self.known or (self.mentions[0] if self.mentions else None)

    def cue(self, name: str) -> re.Match | None:
        return lexicon().cues[name].search(self.masked)

    def times(self, prefer: str | None) -> list[TimeExpr]:
        return parse_times(self.text, self.now, prefer)

    def guess(self, *, lead: bool = False) -> Mention | None:
        """A client name by the sentence's shape, with times and product names blanked first."""
        spans = [(t.start, t.end) for t in self.times(None)]
        lex = lexicon()
        for alias, _ in lex.products:
            at = self.norm.find(alias)
            if at >= 0:
                spans.append((at, at + len(alias)))
        masked = blank(self.norm, spans).replace(BLANK, "，")
        return guess(self.text, masked, lead=lead)
