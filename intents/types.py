"""What a recogniser returns."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Intent:
    name: str
    slots: dict[str, object] = field(default_factory=dict)
    confidence: float = 0.0
    source: str = "rules"  # rules | llm | context
    # Set by mention resolution: the client the `client` slot designates.
    client_id: int | None = None

    def as_json(self) -> dict:
        return {"intent": self.name, "slots": self.slots, "confidence": round(self.confidence, 2),
                "source": self.source}
