"""Imports every model so that Base.metadata is complete (Alembic, tests)."""
from crm_core.accounts import Account
from crm_core.risk.alerts import Alert, AlertAcknowledgement, AlertNotification
from crm_core.approvals import ApprovalRequest
from crm_core.audit import AuditEntry
from crm_core.base import Base
from crm_core.clients import Client, ClientTag
from crm_core.conversations import Conversation
from crm_core.db import Meta
from crm_core.inbox import InboundMessage
from crm_core.interactions import Interaction
from crm_core.margin import MarginSnapshot, Position, PositionReport
from crm_core.outbox import OutboxMessage, PlatformToken
from crm_core.reminders import Reminder
from crm_core.staff import Staff, Team
from crm_core.suitability import SpecialRiskWarning, SuitabilityAssessment
from crm_core.tokens import ApiToken

__all__ = ["Account", "Alert", "AlertAcknowledgement", "AlertNotification", "ApiToken", "ApprovalRequest", "AuditEntry", "Base", "Client",
           "ClientTag",
           "Conversation", "InboundMessage", "Interaction", "MarginSnapshot", "Meta", "OutboxMessage",
           "PlatformToken", "Position", "PositionReport", "Reminder", "SpecialRiskWarning", "Staff",
           "SuitabilityAssessment", "Team"]
