"""Assembles one running brokerbot: settings, database, business rules, messages, pipeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bot.messages import Messages
from bot.settings import Settings
from crm_core import config_files
from crm_core.approvals.flows import ApprovalFlows
from crm_core.db import Database
from crm_core.risk.rules import RiskConfig, RiskRules
from crm_core.suitability import SuitabilityRules
from notifiers.channels import Channels


@dataclass
class App:
    settings: Settings = field(default_factory=Settings)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url, secret_key=self.settings.resolved_secret_key(),
                        timezone=self.settings.timezone)

    @cached_property
    def risk_rules(self) -> RiskRules:
        return RiskRules(config_files.validated("risk_rules.yaml", self.settings.config_dir, RiskConfig))

    @cached_property
    def channels(self) -> Channels:
        return Channels.load(self.settings.config_dir)

    @cached_property
    def suitability(self) -> SuitabilityRules:
        return config_files.validated("suitability.yaml", self.settings.config_dir, SuitabilityRules)

    @cached_property
    def approval_flows(self) -> ApprovalFlows:
        return config_files.validated("approval_flows.yaml", self.settings.config_dir, ApprovalFlows)

    @cached_property
    def messages(self):
        return Messages.load(self.settings.config_dir)

    def ready(self) -> "App":
        """Validate rules and make sure the schema exists (upgrading an empty database)."""
        self.risk_rules
        self.channels
        self.suitability
        self.approval_flows
        self.messages
        self.db.ensure_schema()
        return self

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
