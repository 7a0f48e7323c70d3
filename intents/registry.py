"""The intent handlers' registry: a decorator tags a function as an intent's handler; `load_all`
imports every module of the handler packages (found with pkgutil, not listed by hand), which
registers what they tag. Adding an intent is one handler module plus its catalog entry.
A plug-in package (BROKERBOT_INTENT_PACKAGES) holds handler modules and a catalog.yaml fragment
with its entries; load_all merges the fragments into the catalog and validates it.

A handler takes (HandlerContext, Intent) and returns a Reply. Handlers of intents whose catalog
entry says `needs_client` receive a client that the asking person may see in `ctx.client`; the
resolution and the permission check happen before, in intents.resolve.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Iterable

from intents.catalog import catalog, use_packages

HANDLERS: dict[str, Callable] = {}
PACKAGES = ("intents.handlers",)


def handler(*names: str):
    def tag(func: Callable) -> Callable:
        for name in names:
            HANDLERS[name] = func
        return func
    return tag


def load_all(packages: Iterable[str] = PACKAGES) -> dict[str, Callable]:
    """Import every module of `packages` (their @handler functions and @slot_reader functions
    register themselves), then make the catalog the built-in entries plus the packages' catalog.yaml
    fragments, validated (CatalogError names the bad entry)."""
    packages = tuple(dict.fromkeys(packages))
    for package in packages:
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{package}.{info.name}")
    use_packages(packages)
    catalog()
    return HANDLERS
