"""Platform-neutral replies. Handlers return them; adapters and notifiers render them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Choice:
    label: str  # what the person sees
    value: str  # what picking it sends back ("1", "2", ...)


@dataclass
class Reply:
    text: str
    title: str | None = None
    choices: list[Choice] = field(default_factory=list)
    # Set when the reply shows one client's figures: a group chat must not show it.
    private: bool = False
