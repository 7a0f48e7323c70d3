"""One message as the recogniser reads it: the text as written, its normalised form, the
clients it names (from the CRM), and a masked form for cue words (names and times blanked)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from intents.client_index import ClientIndex, Mention
from intents.fuzzy_names import digit_names, latin_words
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
    index: ClientIndex | None = field(default=None, repr=False)
    _guessed: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, text: str, index: ClientIndex, now: datetime) -> "Reading":
        norm = normalise(text)
        mentions = index.find(text, norm)
        return cls(text, norm, mentions, now, index.tags, blank(norm, ((m.start, m.end) for m in mentions)), index)

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
        """A client name by the sentence's shape, with times and product names blanked first.
        Unless a new name is wanted (`lead`), a mistyped name of a client (孙志墙, 张3, zhagnsan)
        comes back as a mention of kind "near" with that client's ids."""
        if lead in self._guessed:
            return self._guessed[lead]
        spans = [(t.start, t.end) for t in self.times(None)]
        lex = lexicon()
        for alias, _ in lex.products:
            at = self.norm.find(alias)
            if at >= 0:
                spans.append((at, at + len(alias)))
        masked = blank(self.norm, spans).replace(BLANK, "，")
        found = guess(self.text, masked, lead=lead)
        if not lead and self.known is None:
            found = self._near(found, blank(masked, ((m.start, m.end) for m in self.mentions))) or found
        self._guessed[lead] = found
        return found

    def _near(self, guessed: Mention | None, masked: str) -> Mention | None:
        """A client the message names with a typo: the guessed name, a name with a digit (张3),
        or latin letters in a Chinese message, each looked up in the index's near names."""
        near = getattr(self.index, "near", None)
        if near is None:
            return None
        spans = [(guessed.start, guessed.end, guessed.text)] if guessed and guessed.kind == "pattern" else []
        spans += [*digit_names(masked), *latin_words(masked)]
        for start, end, written in spans:
            ids = near(written)
            if ids:
                return Mention(self.text[start:end], start, end, ids, False, "near")
        return None
