"""Platform-neutral replies. Handlers return them; adapters and notifiers render them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Choice:
    label: str  # what the person sees
    value: str  # what picking it sends back ("1", "2", ...)


ATTACHMENT_KINDS = ("image", "file")


@dataclass(frozen=True)
class Attachment:
    """An image (PNG, JPEG) or a file (XLSX, PDF...) sent after the reply's text. Each platform
    uploads it through its own media API; the terminal saves it to a folder."""

    kind: str  # "image" | "file"
    filename: str  # what the person sees, with its extension ("margin-20261118.xlsx")
    content: bytes
    mime: str  # "image/png", "application/pdf"...

    def __post_init__(self) -> None:
        if self.kind not in ATTACHMENT_KINDS:
            raise ValueError(f"attachment kind {self.kind!r} is not one of {ATTACHMENT_KINDS}")
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"attachment filename {self.filename!r} must be a bare file name")


@dataclass
class Reply:
    text: str
    title: str | None = None
    choices: list[Choice] = field(default_factory=list)
    # Set when the reply shows one client's figures: a group chat must not show it.
    private: bool = False
    # Set when the message was turned away and decided nothing (a click on an approval card by
    # someone who may not decide it: a forwarded or stale card). The card clicked stays as it was,
    # buttons and all, and the click is not taken, so the approver's own click still decides.
    refused: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    # Set when the text holds personal data in the clear (a full phone number): the outbox keeps
    # it encrypted until the send and drops it after; nothing logs it.
    sensitive: bool = False


def button_label(choice: dict) -> str:
    """What a button says: "2. 张伟（账户 …）" for a numbered pick, the label alone otherwise
    ("确认", "收到")."""
    value, label = str(choice["value"]), str(choice["label"])
    return f"{value}. {label}" if value.isdigit() and value != label else label
