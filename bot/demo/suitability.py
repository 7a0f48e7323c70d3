"""The demo's suitability assessments (适当性测评), so that product permission requests behave in
the demo as at a branch: most clients have a current assessment matching their level, a few have
an expired one (blocked until re-assessed), a few were assessed C1 (the lowest category: never
anything above R1), and a few end within suitability.yaml's reminder window (their managers get
the re-assessment reminder from `serve`). Leads have none; prospects were assessed while opening.

The demo's own clients keep their current assessment: 张三 (C4, so `申请给张三开通原油权限` goes
to approval), 张伟, 赵建国, 孙志强, 欧阳晓峰, 李四, 周晓东. The first manager always has one
client of each other kind. Deterministic like the rest of the demo (a fixed seed, integers only).
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from bot.demo.names import CLIENTS_PER_MANAGER
from crm_core.base import Source
from crm_core.clients import ClientType, Lifecycle
from crm_core.suitability import (
    SuitabilityRules,
    add_months,
    packaged_rules,
    record_result,
)

SEED = "brokerbot-demo-1:suitability"
SOURCE = Source(platform="demo")
KEEP = {"张三", "张伟", "赵建国", "孙志强", "欧阳晓峰", "李四", "周晓东"}  # the demo's named examples
KINDS = (("current", 84), ("expired", 7), ("expiring", 5), ("lowest", 4))


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _points(rng: random.Random, level: str, rules: SuitabilityRules) -> int:
    levels = list(rules.bands)
    low = rules.bands[level]
    following = levels.index(level) + 1
    high = rules.bands[levels[following]] - 1 if following < len(levels) else 100
    return rng.randint(low, high)


def _assessed_on(rng: random.Random, kind: str, today: date, rules: SuitabilityRules) -> date:
    window_start = add_months(datetime.combine(today, time(0)), -rules.validity_months).date()
    if kind == "expired":
        return _weekday(window_start - timedelta(days=rng.randint(10, 400)))
    if kind == "expiring":  # valid until a day within the reminder window
        return window_start + timedelta(days=rng.randint(3, max(3, rules.reminder_days - 3)))
    oldest = window_start + timedelta(days=rules.reminder_days + 10)
    return _weekday(today - timedelta(days=rng.randint(20, max(20, (today - oldest).days))))


def seed_assessments(*, session: Session, clients, now: datetime, rules: SuitabilityRules | None = None) -> int:
    """Record the demo's assessments for `clients` ((spec, client, accounts) as seed_demo makes
    them) in the caller's transaction; returns how many. `rules` default to the packaged
    suitability.yaml."""
    rules = rules or packaged_rules()
    rng = random.Random(SEED)
    tz = now.tzinfo
    today = now.date()
    first = next(iter(CLIENTS_PER_MANAGER))
    eligible = [(spec, client) for spec, client, _ in clients
                if client.risk_level and spec.lifecycle in (Lifecycle.active, Lifecycle.dormant, Lifecycle.prospect)]
    kinds: dict[int, str] = {}
    shown = [client for spec, client in eligible if spec.manager == first and spec.name not in KEEP
             and spec.client_type is ClientType.individual and spec.lifecycle is Lifecycle.active]
    for kind, client in zip(("expired", "lowest", "expiring"), rng.sample(shown, 3)):
        kinds[client.id] = kind
    count = 0
    for spec, client in sorted(eligible, key=lambda pair: pair[1].id):
        kind = kinds.get(client.id)
        if kind is None:
            kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            if spec.name in KEEP or spec.lifecycle is Lifecycle.prospect or (
                    kind == "lowest" and spec.client_type is ClientType.institution):
                kind = "current"
        level = "C1" if kind == "lowest" else client.risk_level
        on = (_weekday(today - timedelta(days=rng.randint(1, 60))) if spec.lifecycle is Lifecycle.prospect
              else _assessed_on(rng, kind, today, rules))
        at = datetime.combine(on, time(rng.randint(9, 16), rng.choice((0, 15, 30, 45))), tz)
        if at >= now:
            at = now - timedelta(hours=1)
        record_result(session=session, actor=client.manager, client=client, points=_points(rng, level, rules),
                      level=level, assessed_at=at, rules=rules, source=SOURCE)
        count += 1
    return count
