"""Risk rules (config/risk_rules.yaml): levels of an account from its margin snapshot, the
notices for the anti-money-laundering desk, alert timing and the trading calendar.

Levels follow CTP's 警告 / 追保 / 强平. A level applies when any of its conditions holds:
risk degree (curr_margin / balance) or exchange risk degree (exchange_margin / balance) at or
above a percentage, or available funds below an amount. Teams and single accounts may
override levels. An open alert resolves only when the account is below every threshold by
`resolve_margin` percentage points (hysteresis), so an account hovering at 80% does not raise
and resolve an alert at every tick.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_core.risk.alerts import AlertLevel
from crm_core.margin import MarginSnapshot

ORDER = (AlertLevel.warning, AlertLevel.margin_call, AlertLevel.force_close)
RATIOS = ("risk_degree", "exchange_risk_degree")
HUNDRED = Decimal(100)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """One level's conditions; percentages as written in the file (80 = 80%)."""

    risk_degree: Decimal | None = Field(default=None, gt=0)
    exchange_risk_degree: Decimal | None = Field(default=None, gt=0)
    available_below: Decimal | None = None  # yuan

    @model_validator(mode="after")
    def _something(self) -> "Threshold":
        if self.risk_degree is None and self.exchange_risk_degree is None and self.available_below is None:
            raise ValueError("give risk_degree, exchange_risk_degree and/or available_below")
        return self

    def met_by(self, snapshot: MarginSnapshot, slack: Decimal = Decimal(0)) -> bool:
        """Whether the snapshot meets a condition; `slack` lowers the ratios (hysteresis)."""
        for name in RATIOS:
            limit, value = getattr(self, name), getattr(snapshot, name)
            if limit is not None and value is not None and value * HUNDRED >= limit - slack:
                return True
        return self.available_below is not None and snapshot.available < self.available_below


class LevelSet(_Strict):
    levels: dict[AlertLevel, Threshold] = Field(default_factory=dict)


class LargeTransfer(_Strict):
    amount: Decimal = Field(gt=0)  # one day's deposit or withdrawal at or above this (yuan)
    channels: list[str] = Field(default_factory=list)  # names in channels.yaml, e.g. the AML desk


class Overrides(_Strict):
    teams: dict[str, LevelSet] = Field(default_factory=dict)
    accounts: dict[str, LevelSet] = Field(default_factory=dict)  # by account number


class Calendar(_Strict):
    sessions: list[str] = Field(default_factory=lambda: ["09:00-11:30", "13:30-15:00", "21:00-23:00"])
    sweep_minutes: int = Field(default=5, ge=1)
    pre_open: time = time(8, 30)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("sessions")
    @classmethod
    def _sessions(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                start, end = (time.fromisoformat(part.strip()) for part in item.split("-"))
            except ValueError:
                raise ValueError(f"session {item!r} must look like 09:00-11:30") from None
            if start >= end:
                raise ValueError(f"session {item!r} ends before it starts")
        return value

    def session_times(self) -> list[tuple[time, time]]:
        return [tuple(time.fromisoformat(p.strip()) for p in item.split("-")) for item in self.sessions]

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def in_session(self, day: date, at: time) -> bool:
        return self.is_trading_day(day) and any(start <= at <= end for start, end in self.session_times())


class RiskConfig(_Strict):
    levels: dict[AlertLevel, Threshold]
    resolve_margin: Decimal = Field(default=Decimal(5), ge=0)
    renotify_minutes: int = Field(default=60, ge=1)
    escalate_after_minutes: dict[AlertLevel, int] = Field(
        default_factory=lambda: {AlertLevel.margin_call: 30, AlertLevel.force_close: 10})
    equity_drop_percent: Decimal | None = Field(default=None, gt=0, lt=100)
    large_transfer: LargeTransfer | None = None
    digest_after: int = Field(default=3, ge=1)
    overrides: Overrides = Field(default_factory=Overrides)
    calendar: Calendar = Field(default_factory=Calendar)

    @field_validator("levels")
    @classmethod
    def _some_level(cls, value: dict) -> dict:
        if not value:
            raise ValueError("name at least one level: warning, margin_call or force_close")
        return value


@dataclass(frozen=True)
class RiskRules:
    config: RiskConfig

    @classmethod
    def defaults(cls) -> "RiskRules":
        return cls(RiskConfig(levels={AlertLevel.warning: Threshold(risk_degree=Decimal(80)),
                                      AlertLevel.margin_call: Threshold(risk_degree=Decimal(100)),
                                      AlertLevel.force_close: Threshold(exchange_risk_degree=Decimal(100))}))

    @property
    def thresholds(self) -> dict[AlertLevel, Threshold]:
        return self.config.levels

    def thresholds_for(self, team: str | None = None, account_no: str | None = None) -> dict[AlertLevel, Threshold]:
        levels = dict(self.config.levels)
        for scope, key in ((self.config.overrides.teams, team), (self.config.overrides.accounts, account_no)):
            if key is not None and key in scope:
                levels.update(scope[key].levels)
        return levels

    def level_of(self, snapshot: MarginSnapshot, *, team: str | None = None, account_no: str | None = None,
                 slack: Decimal = Decimal(0)) -> AlertLevel | None:
        """The most severe level the snapshot meets, or None for normal (正常)."""
        thresholds = self.thresholds_for(team, account_no)
        for level in reversed(ORDER):
            threshold = thresholds.get(level)
            if threshold is not None and threshold.met_by(snapshot, slack):
                return level
        return None

    def still_at_risk(self, snapshot: MarginSnapshot, *, team: str | None = None,
                      account_no: str | None = None) -> bool:
        """Whether an open alert stays open: some level is met with the hysteresis margin."""
        return self.level_of(snapshot, team=team, account_no=account_no,
                             slack=self.config.resolve_margin) is not None
