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
    # Set when the text holds personal data in the clear (a full phone number): the outbox keeps
    # it encrypted until the send and drops it after; nothing logs it.
    sensitive: bool = False


def button_label(choice: dict) -> str:
    """What a button says: "2. 张伟（账户 …）" for a numbered pick, the label alone otherwise
    ("确认", "收到")."""
    value, label = str(choice["value"]), str(choice["label"])
    return f"{value}. {label}" if value.isdigit() and value != label else label
