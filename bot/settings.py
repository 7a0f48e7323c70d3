"""Settings: BROKERBOT_* environment variables over an optional TOML file (SPEC section 3)."""
from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    NoDecode,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crm_core.crypto import generate_key

# `brokerbot demo` builds its database here; other commands in the same folder use it (SPEC section 2).
DEMO_DIR = Path("brokerbot-demo")


def _toml_file() -> Path | None:
    named = os.environ.get("BROKERBOT_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"BROKERBOT_CONFIG names {named}, which is not a file")
        return path
    default = Path("brokerbot.toml")
    return default if default.is_file() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BROKERBOT_", extra="ignore", validate_assignment=True)

    database_url: str = "sqlite:///./brokerbot.db"
    timezone: str = "Asia/Shanghai"
    config_dir: Path | None = None
    # Where generated files (the personal-data key) live; default: beside the SQLite file.
    data_dir: Path | None = None
    secret_key: SecretStr | None = None
    log_format: Literal["json", "text"] = "json"  # the log file: one JSON object per line, or plain lines
    # Conversation context (pending choices, "他" = the last client) expires after this idle time.
    context_idle_minutes: int = Field(default=30, ge=1)
    # The most rows one REST API request may carry (POST /api/v1/snapshots, /positions).
    api_max_rows: int = Field(default=50_000, ge=1)

    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    dingtalk_client_id: str | None = None
    dingtalk_client_secret: SecretStr | None = None
    dingtalk_robot_code: str | None = None
    dingtalk_mode: Literal["stream", "http"] = "stream"
    dingtalk_api_base: str = "https://api.dingtalk.com"
    # Where a message's sessionWebhook may point (scheme://host[:port]); unset: DingTalk's own
    # robot host https://oapi.dingtalk.com and the origin of dingtalk_api_base. Any other
    # sessionWebhook is ignored and the answer goes through the OpenAPI instead.
    dingtalk_webhook_base: str | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_base: str = "https://slack.com/api/"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_timeout_seconds: float = Field(default=3.0, gt=0)
    # Extra intent packages (importable names, comma-separated): handler modules + a catalog.yaml.
    intent_packages: Annotated[list[str], NoDecode] = []

    @field_validator("intent_packages", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings,
                                   env_settings, dotenv_settings, file_secret_settings
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings]
        toml = _toml_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    def demo_fallback(self) -> "Settings | None":
        """These settings on the demo database of ./brokerbot-demo/ and its key, when no database is
        named (environment or TOML), no ./brokerbot.db exists and `brokerbot demo` was run here;
        else None."""
        demo = DEMO_DIR / "brokerbot.db"
        if "database_url" in self.model_fields_set or Path("brokerbot.db").exists() or not demo.is_file():
            return None
        return self.model_copy(update={"database_url": f"sqlite:///{demo.resolve()}",
                                       "data_dir": DEMO_DIR.resolve(), "secret_key": None})

    def reveal(self, name: str) -> str | None:
        """A secret's value (SecretStr keeps it out of repr and logs), or None when unset."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    @property
    def context_idle(self) -> timedelta:
        return timedelta(minutes=self.context_idle_minutes)

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///")).expanduser().resolve().parent
        return Path.cwd()

    def resolved_secret_key(self) -> str:
        """BROKERBOT_SECRET_KEY, else the key file in the data folder, created on first run."""
        if self.secret_key:
            return self.secret_key.get_secret_value()
        path = self.resolved_data_dir() / "brokerbot.key"
        if path.is_file():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key
