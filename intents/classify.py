"""Which intent a message is, driven by the catalog: the entries' rules are tried in priority
order and the first `when` that holds wins (intents/catalog.yaml says what each one needs).

Returns the intent and how sure the cue is (before the client is taken into account)."""
from __future__ import annotations

from intents.catalog import When, by_priority
from intents.reading import Reading
from intents.readers import CHECKS, CLIENT_CONDITIONS, SLOT_READERS, Facts


def classify(r: Reading) -> tuple[str, float]:
    if not r.masked.strip():
        return "unknown", 0.0
    facts = Facts(r)
    for spec in by_priority():
        for when in spec.rule.when:
            if holds(when, facts):
                return spec.name, when.confidence
    return "unknown", 0.0


def holds(when: When, f: Facts) -> bool:
    r = f.r
    return (all(r.cue(name) for name in when.cues)
            and not any(r.cue(name) for name in when.without)
            and all(p.search(r.masked) for p in when.patterns)
            and (when.client is None or CLIENT_CONDITIONS[when.client](f))
            and all(CHECKS[name](f) for name in when.checks)
            and (when.finds is None or bool(SLOT_READERS[when.finds](r, None))))
