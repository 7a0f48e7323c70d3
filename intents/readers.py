"""The named pieces the catalog's rules are made of (intents/catalog.yaml refers to them by name):
slot readers (what a message says for an intent's slots), client readers (which mention is the
client), client conditions and checks a rule may require. A plug-in package may add its own
slot readers with @slot_reader; the catalog is validated against these names when it loads."""
from __future__ import annotations

from typing import Callable

from intents.client_index import Mention
from intents.lexicon import instrument
from intents.reading import BLANK, Reading
from intents.slots_admin import ack_slots, approval_request_slots, decision_slots, kpi_slots
from intents.slots_find import filters
from intents.slots_update import client_update_slots, update_guess
from intents.slots_read import reminder_range, subject
from intents.slots_write import assessment_slots, lead_slots, log_slots, reminder_slots

# reader(reading, client) -> slots; `client` is the mention the client slot was read from, if any.
SlotReader = Callable[[Reading, "Mention | None"], dict]
SLOT_READERS: dict[str, SlotReader] = {}


def slot_reader(name: str):
    def tag(func: SlotReader) -> SlotReader:
        SLOT_READERS[name] = func
        return func
    return tag


def _instrument(r: Reading, client) -> dict:
    found = instrument(r.masked)
    return {"instrument": found[0]} if found else {}


SLOT_READERS.update({
    "filters": lambda r, client: filters(r.masked, r.tags),
    "reminder": lambda r, client: reminder_slots(r),
    "lead": lambda r, client: lead_slots(r),
    "approval_request": lambda r, client: approval_request_slots(r),
    "decision": lambda r, client: decision_slots(r),
    "ack": lambda r, client: ack_slots(r),
    "kpi": lambda r, client: kpi_slots(r),
    "assessment": lambda r, client: assessment_slots(r),
    "instrument": _instrument,
    "log": lambda r, client: log_slots(r, client),
    # -- issue 13 item 4: update_client
    "client_update": lambda r, client: client_update_slots(r),
    # -- issue 13 (reads)
    "reminder_range": lambda r, client: reminder_range(r),
    "subject": lambda r, client: subject(r),
})

# Which mention fills an intent's client slot.
CLIENT_READERS: dict[str, Callable[[Reading], "Mention | None"]] = {
    "mention_or_guess": lambda r: r.client or r.guess(),  # the default
    "mention": lambda r: r.client,
    "lead": lambda r: r.guess(lead=True) or r.client or r.guess(),  # a new name first
    # -- issue 13 item 4: update_client
    "client_update": lambda r: r.client or update_guess(r) or r.guess(),
}


class Facts:
    """A message with its client guess worked out at most once while the rules are walked."""

    def __init__(self, r: Reading):
        self.r = r
        self._guess: list = []

    def guess(self) -> Mention | None:
        if not self._guess:
            self._guess.append(self.r.guess())
        return self._guess[0]

    def referred_by_word(self) -> bool:
        return bool(self.r.cue("pronoun") or self.r.cue("elliptic"))


# client: what a rule requires of the client the message is about.
CLIENT_CONDITIONS: dict[str, Callable[[Facts], bool]] = {
    # no client named at all
    "none": lambda f: f.r.client is None,
    # no client of the CRM named (a new name may be)
    "not_known": lambda f: f.r.known is None,
    # a client named, or a name guessed from the sentence's shape
    "named_or_guessed": lambda f: f.r.client is not None or f.guess() is not None,
    # a client named, guessed, or referred to (他, 那他的持仓呢)
    "referred": lambda f: bool(f.r.mentions) or f.referred_by_word() or f.guess() is not None,
    # a client named, or guessed when no word refers back to one
    "named": lambda f: bool(f.r.mentions) or (not f.referred_by_word() and f.guess() is not None),
}


def _name_alone(f: Facts) -> bool:
    rest = f.r.masked.strip().replace(BLANK, "").strip(" ?？!！。.，,")
    return len(rest) <= 1


# checks: other things a rule may require of the message.
CHECKS: dict[str, Callable[[Facts], bool]] = {
    "instrument": lambda f: instrument(f.r.masked) is not None,  # a contract or product named
    "name_alone": _name_alone,  # nothing but the client's name (and punctuation)
}
