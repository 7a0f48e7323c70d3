"""Intent handlers: one small decorated function per intent, collected in one registry.

A handler takes (HandlerContext, Intent) and returns a Reply. Handlers of intents whose
catalog entry says `needs_client` receive a client that the asking person may see in
`ctx.client`; the resolution and the permission check happen before, in intents.resolve.
"""
from __future__ import annotations

from typing import Callable

HANDLERS: dict[str, Callable] = {}


def handler(*names: str):
    def tag(func: Callable) -> Callable:
        for name in names:
            HANDLERS[name] = func
        return func
    return tag


def load_all() -> dict[str, Callable]:
    from intents.handlers import (alerts, approvals, funds, general, interactions, kpi,  # noqa: F401
                                  leads, lists, profile, reminders, suitability)

    return HANDLERS
