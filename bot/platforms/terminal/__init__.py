"""The terminal (`brokerbot chat`): a staff login types, the reply is printed (adapter.py). It
carries no direct messages, needs no settings and has no retries to dedupe."""
from __future__ import annotations


class Terminal:
    name, label, identity_column, order, routable, dedupe = "terminal", "terminal", "login", 1000, False, False

    def configured(self, settings) -> bool:
        return False

    def sender(self, app):
        return None

    def routers(self, service) -> list:
        return []

    def start(self, service) -> None:
        pass

    def stop(self, service) -> None:
        pass


PLATFORM = Terminal()
