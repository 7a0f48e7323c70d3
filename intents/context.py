"""What an intent handler gets: the person, their session, the clock, the texts, the client."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm_core.approvals.flows import ApprovalFlows
from crm_core.base import Source
from crm_core.clients import Client
from crm_core.crypto import Cipher
from crm_core.risk.rules import RiskRules
from crm_core.staff import Staff
from crm_core.suitability import SuitabilityRules

# notify(staff, reply, purpose=..., ref=...) queues a direct message to another person in this
# turn's transaction (sent only if the turn commits); False when no platform reaches them (the
# message is then kept as undeliverable, with the reason, and sent once one does).
# With a `ref`, the same (purpose, ref) is queued once however often it is called.
Notify = Callable[..., bool]


@dataclass
class HandlerContext:
    session: Session
    staff: Staff
    now: datetime
    tz: ZoneInfo
    lang: str
    texts: object  # bot.messages.Messages; kept untyped so intents/ does not import bot/
    risk_rules: RiskRules
    cipher: Cipher
    source: Source
    state: dict = field(default_factory=dict)
    client: Client | None = None
    suitability: SuitabilityRules | None = None
    approval_flows: ApprovalFlows | None = None
    notify: Notify | None = None
    # The words of the request when this message only completes it (a "2", 确认 or "1.2倍");
    # `source` then holds the whole exchange.
    request_text: str | None = None

    @property
    def said(self) -> str:
        """What the person asked for, in their words."""
        return self.request_text or self.source.text or ""
    chat_type: str = "direct"  # direct | group (bot.events.ChatEvent.chat_type)

    def t(self, key: str, **values) -> str:
        return self.texts.t(key, self.lang, **values)
