"""Which intent a message is: cue words in a fixed order, the first that fits wins.

Returns the intent and how sure the cue is (before the client is taken into account)."""
from __future__ import annotations

from intents.lexicon import instrument
from intents.reading import Reading
from intents.slots_find import filters
from intents.slots_write import assessment_slots


def classify(r: Reading) -> tuple[str, float]:
    t = r.masked.strip()
    has_client = r.client is not None
    if not t:
        return "unknown", 0.0
    if r.cue("help") and not has_client:
        return "help", 0.9
    if r.cue("assessment") and not r.cue("reminder") and assessment_slots(r):
        return "record_assessment", 0.9
    if r.cue("item_id") and not r.cue("reminder"):
        if r.cue("alert_word") or (r.cue("alert_ack") and not (r.cue("decision_reject") or r.cue("decision_approve"))):
            return "ack_alert", 0.9
        if r.cue("decision_reject") or r.cue("decision_approve"):
            return "decide_approval", 0.9
    if r.cue("reminder"):
        return "create_reminder", 0.9
    if r.cue("approval_status"):
        return "list_approvals", 0.85
    if r.cue("lead") and (not (has_client and r.known) or r.cue("lead_explicit")):
        return "create_lead", 0.85
    if r.cue("approval_request"):
        return "request_approval", 0.85
    if r.cue("log_verb") and (has_client or r.guess()):
        return "log_interaction", 0.9
    if r.cue("alert_word"):
        return "list_alerts", 0.9
    if not r.known:
        if r.cue("kpi"):
            return "kpi_report", 0.85
        if filters(r.masked, r.tags):
            return "find_clients", 0.85
        if r.cue("find") and ("客户" in t or "clients" in t):
            return "find_clients", 0.6
        if r.cue("off_topic"):
            return "unknown", 0.0
    return _about_client(r, t)


def _about_client(r: Reading, t: str) -> tuple[str, float]:
    referred = bool(r.known) or bool(r.cue("pronoun")) or bool(r.cue("elliptic"))
    guessed = None if referred or r.mentions else r.guess()
    if not (referred or r.mentions or guessed):
        return "unknown", 0.0
    if r.cue("full_phone"):
        return "reveal_phone", 0.9
    if r.cue("positions") or (instrument(r.masked) and not r.cue("margin")):
        return "query_positions", 0.9
    if r.cue("margin"):
        return "query_margin", 0.9
    if r.cue("profile") or r.cue("lookup_verb"):
        return "client_profile", 0.9
    rest = t.replace("□", "").strip(" ?？!！。.，,")
    if (r.mentions or guessed) and len(rest) <= 1:
        return "client_profile", 0.85  # a name alone: show the card
    return "unknown", 0.0
