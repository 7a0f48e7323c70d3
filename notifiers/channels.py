"""Group chats for risk alerts (config/channels.yaml, SPEC section 3): WeCom and DingTalk group
robots and Slack channels, each taking some alert levels for some teams.

A robot's outbox target is the channel's name, so its URL and secret stay in the file, not in the
database; a Slack channel goes through the Slack sender with its channel id."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from crm_core import config_files
from crm_core.risk.alerts import AlertLevel

FILE = "channels.yaml"
EVERY_TEAM = "*"
ChannelType = Literal["wecom_webhook", "dingtalk_webhook", "slack_channel"]
# What each type needs besides name, levels and teams; the query parameter naming the robot.
NEEDS = {"wecom_webhook": ("url",), "dingtalk_webhook": ("url", "secret"), "slack_channel": ("channel_id",)}
ROBOT_PARAM = {"wecom_webhook": "key", "dingtalk_webhook": "access_token"}


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1)
    type: ChannelType
    url: str | None = None
    secret: str | None = None
    channel_id: str | None = None
    levels: list[AlertLevel] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    audit: bool = False  # a compliance chat: receives the daily signed audit checkpoint
    _line: int | None = PrivateAttr(default=None)  # where the entry starts in the file

    @field_validator("teams")
    @classmethod
    def _teams(cls, value: list[str]) -> list[str]:
        if not all(value):
            raise ValueError('a team name is empty; write the name from the staff file, or "*"')
        return value

    @model_validator(mode="after")
    def _fits_type(self) -> "Channel":
        if not self.audit:  # an alert channel; a compliance chat (audit: true) may take no alerts
            for key in ("levels", "teams"):
                if not getattr(self, key):
                    raise ValueError(f"{key} is required (or audit: true for a compliance chat)")
        needs = NEEDS[self.type]
        for key in ("url", "secret", "channel_id"):
            if key in needs and not getattr(self, key):
                raise ValueError(f"a {self.type} channel needs {key}")
            if key not in needs and getattr(self, key) is not None:
                raise ValueError(f"{key} is not used by a {self.type} channel; remove it")
        if self.url:
            parts = urlsplit(self.url)
            query = parse_qs(parts.query)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"url {self.url!r} is not a web address")
            if not query.get(ROBOT_PARAM[self.type]):
                raise ValueError(f"url has no {ROBOT_PARAM[self.type]}=...; copy the whole webhook address")
            if "sign" in query or "timestamp" in query:
                raise ValueError("url: remove timestamp and sign; brokerbot signs every message itself")
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _remember_line(cls, data, handler) -> "Channel":
        channel = handler(data)
        lines = getattr(data, "lines", None)  # config_files keeps each key's line
        if lines:
            channel._line = min(lines.values())
        return channel

    @property
    def outbox(self) -> tuple[str, str]:
        """(outbox channel, target) for notifiers.outbox.enqueue."""
        if self.type == "slack_channel":
            return "slack", self.channel_id
        return self.type, self.name

    def takes(self, level: AlertLevel | str, team: str | None) -> bool:
        return AlertLevel(level) in self.levels and (EVERY_TEAM in self.teams or team in self.teams)


class ChannelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(default_factory=list)

    @field_validator("channels", mode="before")
    @classmethod
    def _none_is_empty(cls, value):
        return [] if value is None else value  # "channels:" with every entry commented out


class Channels:
    """The channels of one channels.yaml, in file order."""

    def __init__(self, channels: Iterable[Channel] = (), where: str = FILE):
        self.channels = tuple(channels)
        self.by_name: dict[str, Channel] = {}
        for index, channel in enumerate(self.channels):
            first = self.by_name.setdefault(channel.name, channel)
            if first is not channel:
                at = f" line {channel._line}" if channel._line else ""
                earlier = f" on line {first._line}" if first._line else ""
                raise config_files.ConfigFileError(
                    f"{where}{at}: channels.{index}.name: {channel.name!r} is already the name of the "
                    f"channel{earlier}; names must differ")

    @classmethod
    def load(cls, override_dir: Path | None) -> "Channels":
        parsed = config_files.validated(FILE, override_dir, ChannelsFile)
        return cls(parsed.channels, where=str(config_files.find(FILE, override_dir)))

    def get(self, name: str) -> Channel | None:
        return self.by_name.get(name)

    def for_alert(self, level: AlertLevel | str, team: str | None) -> list[Channel]:
        """The channels that take an alert of `level` for a client of `team` (None: no team, so
        only channels for every team)."""
        return [channel for channel in self.channels if channel.takes(level, team)]

    def for_audit(self) -> list[Channel]:
        """The compliance chats (audit: true) that receive the daily audit checkpoint."""
        return [channel for channel in self.channels if channel.audit]

    def of_type(self, type_: str) -> list[Channel]:
        return [channel for channel in self.channels if channel.type == type_]

    def __iter__(self) -> Iterator[Channel]:
        return iter(self.channels)

    def __len__(self) -> int:
        return len(self.channels)
