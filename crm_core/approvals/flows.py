"""Approval flows (approval_flows.yaml): who approves each approval type and in which order, the
conditions on a request's details that add a step, how long a step may wait before its approver
is reminded and then escalated, and who stands in for an approver who is away.

Validated by pydantic (`ApprovalFlows`); a bad value stops start-up with the file, the line and
the field (crm_core.config_files.validated). Logins are checked against the staff table only when a
request is routed, since the file is read before the database is opened.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_core.approvals.models import ApprovalType

Role = Literal["supervisor", "risk", "compliance"]
# What a condition may look at: the figures a request carries in its details.
DetailField = Literal["fee_multiple", "margin_ratio", "product_level", "category"]
DURATION = re.compile(r"^\s*(\d+)\s*(m|min|minutes?|h|hours?)\s*$", re.I)


def minutes(value: object) -> int:
    """A duration as written in the file, "30m", "4h" or a bare number of minutes, in minutes."""
    if isinstance(value, bool):
        raise ValueError("write a duration such as 30m or 4h")
    if isinstance(value, int):
        n = value
    else:
        m = DURATION.match(str(value))
        if m is None:
            raise ValueError(f"{value!r} is not a duration; write minutes or hours, e.g. 30m or 4h")
        n = int(m.group(1)) * (60 if m.group(2).lower().startswith("h") else 1)
    if n <= 0:
        raise ValueError("a duration must be longer than zero")
    return n


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Sla(_Strict):
    """After `remind_after` the approver is reminded once; after `escalate_after` the step goes to
    the approver's supervisor (or the fallback) once. Both count from the step's start."""

    remind_after: int
    escalate_after: int

    @field_validator("remind_after", "escalate_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> int:
        return minutes(value)

    @model_validator(mode="after")
    def _order(self) -> "Sla":
        if self.escalate_after <= self.remind_after:
            raise ValueError("escalate_after must be longer than remind_after")
        return self


class Condition(_Strict):
    below: Decimal | None = None
    at_least: Decimal | None = None
    in_: list[str] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _something(self) -> "Condition":
        if self.below is None and self.at_least is None and self.in_ is None:
            raise ValueError("give below, at_least or in")
        return self

    def holds(self, value: object) -> bool:
        if value in (None, ""):
            return False
        if self.in_ is not None and str(value) not in self.in_:
            return False
        if self.below is None and self.at_least is None:
            return True
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return False
        return ((self.below is None or number < self.below)
                and (self.at_least is None or number >= self.at_least))


class Step(_Strict):
    role: Role | None = None
    login: str | None = None
    when: dict[DetailField, Condition] = Field(default_factory=dict)
    sla: Sla | None = None

    @model_validator(mode="after")
    def _one_approver(self) -> "Step":
        if (self.role is None) == (self.login is None):
            raise ValueError("give either role (supervisor, risk, compliance) or login, not both")
        if self.login is not None and not self.login.strip():
            raise ValueError("login is empty")
        return self

    def applies(self, details: dict) -> bool:
        return all(condition.holds(details.get(name)) for name, condition in self.when.items())


class Flow(_Strict):
    steps: list[Step] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _first_always(cls, value: list[Step]) -> list[Step]:
        if value[0].when:
            raise ValueError("the first step must have no condition, so that every request has an approver")
        return value


class Delegation(_Strict):
    """`to` decides for `from` between `since` (default: always) and `until`. A date alone means
    the whole day in the business time zone; a time without an offset is business time too."""

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    until: date | datetime
    since: date | datetime | None = None

    @model_validator(mode="after")
    def _sense(self) -> "Delegation":
        if self.from_ == self.to:
            raise ValueError("a person cannot delegate to themselves")
        if self.since is not None and _moment(self.since, ZoneInfo("UTC"), end=False) >= \
                _moment(self.until, ZoneInfo("UTC"), end=True):
            raise ValueError("since must come before until")
        return self

    def active(self, now: datetime, tz: ZoneInfo) -> bool:
        start = _moment(self.since, tz, end=False) if self.since is not None else None
        return (start is None or start <= now) and now < _moment(self.until, tz, end=True)


def _moment(value: date | datetime, tz: ZoneInfo, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=tz)


class ApprovalFlows(_Strict):
    sla: Sla = Sla(remind_after=240, escalate_after=480)
    escalation_fallback: str | None = None  # login: where a step escalates when its approver has no supervisor
    flows: dict[ApprovalType, Flow]
    delegations: list[Delegation] = Field(default_factory=list)

    @field_validator("flows")
    @classmethod
    def _every_type(cls, value: dict[ApprovalType, Flow]) -> dict[ApprovalType, Flow]:
        missing = [t.value for t in ApprovalType if t not in value]
        if missing:
            raise ValueError(f"every approval type needs a flow; missing {', '.join(missing)}")
        return value

    def route(self, approval_type: ApprovalType | str, details: dict) -> list[dict]:
        """The steps a request with these details goes through, as stored with the request (so
        that editing the file does not reroute requests already under way)."""
        steps = self.flows[ApprovalType(approval_type)].steps
        route = []
        for step in steps:
            if not step.applies(details):
                continue
            sla = step.sla or self.sla
            route.append({"role": step.role, "login": step.login, "remind_after": sla.remind_after,
                          "escalate_after": sla.escalate_after})
        return route

    def delegate_of(self, login: str, now: datetime, tz: ZoneInfo) -> str | None:
        """Who decides for `login` now, if they are away."""
        return next((d.to for d in self.delegations if d.from_ == login and d.active(now, tz)), None)

    def delegating_to(self, login: str, now: datetime, tz: ZoneInfo) -> list[str]:
        """Whose approvals `login` decides now."""
        return [d.from_ for d in self.delegations if d.to == login and d.active(now, tz)]
