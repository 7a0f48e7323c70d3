"""Settings from BROKERBOT_* over a TOML file; rule files overridable per name."""

import os

import pytest

from bot.app import App
from crm_core.config_files import ConfigFileError
from bot.settings import Settings


def test_environment_overrides_toml_file(tmp_path, monkeypatch):
    toml = tmp_path / "bb.toml"
    toml.write_text('database_url = "sqlite:///from-toml.db"\ntimezone = "Asia/Hong_Kong"\n')
    monkeypatch.setenv("BROKERBOT_CONFIG", str(toml))
    monkeypatch.setenv("BROKERBOT_TIMEZONE", "Asia/Shanghai")
    settings = Settings()
    assert settings.database_url == "sqlite:///from-toml.db"
    assert settings.timezone == "Asia/Shanghai"


def test_secret_key_is_generated_once_into_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("BROKERBOT_SECRET_KEY", raising=False)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    key = settings.resolved_secret_key()
    assert (tmp_path / "brokerbot.key").read_text().strip() == key
    assert oct((tmp_path / "brokerbot.key").stat().st_mode & 0o777) == "0o600"
    assert Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}").resolved_secret_key() == key


def test_a_config_dir_file_overrides_the_default_and_bad_rules_stop_startup(tmp_path):
    (tmp_path / "risk_rules.yaml").write_text("levels:\n  warning: {risk_degree: 70}\n")
    (tmp_path / "messages.yaml").write_text("level_warning: {zh: 注意}\n")
    app = App(Settings(database_url="sqlite://", secret_key="k" * 32, config_dir=tmp_path))
    assert str(app.risk_rules.thresholds[next(iter(app.risk_rules.thresholds))].risk_degree) == "70"
    assert app.messages.t("level_warning") == "注意"
    assert app.messages.t("level_margin_call") == "追保"  # untouched keys keep the default
    (tmp_path / "risk_rules.yaml").write_text("levels:\n  warning: {risk_degree: 70}\n  panic: {risk_degree: 70}\n")
    with pytest.raises(ConfigFileError, match=r"risk_rules.yaml line 3: levels.panic: Input should be 'warning'"):
        App(Settings(database_url="sqlite://", secret_key="k" * 32, config_dir=tmp_path)).risk_rules
    (tmp_path / "risk_rules.yaml").write_text("levels:\n  warning: {risk_degree: -5}\n")
    with pytest.raises(ConfigFileError, match=r"line 2: levels.warning.risk_degree: Input should be greater than 0"):
        App(Settings(database_url="sqlite://", secret_key="k" * 32, config_dir=tmp_path)).risk_rules
    (tmp_path / "risk_rules.yaml").write_text("levels: [\n")
    with pytest.raises(ConfigFileError, match=r"risk_rules.yaml line \d"):
        App(Settings(database_url="sqlite://", secret_key="k" * 32, config_dir=tmp_path)).risk_rules


def test_a_demo_folder_is_used_only_when_no_database_is_named_or_present(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("BROKERBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert Settings().demo_fallback() is None  # no demo here
    (tmp_path / "brokerbot-demo").mkdir()
    (tmp_path / "brokerbot-demo" / "brokerbot.db").write_bytes(b"")
    demo = Settings(secret_key="set-for-something-else").demo_fallback()
    assert demo.database_url == f"sqlite:///{tmp_path / 'brokerbot-demo' / 'brokerbot.db'}"
    assert demo.resolved_data_dir() == tmp_path / "brokerbot-demo" and demo.secret_key is None  # the demo's key
    monkeypatch.setenv("BROKERBOT_DATABASE_URL", "sqlite:///other.db")
    assert Settings().demo_fallback() is None
    monkeypatch.delenv("BROKERBOT_DATABASE_URL")
    (tmp_path / "brokerbot.toml").write_text('database_url = "sqlite:///toml.db"\n')
    assert Settings().demo_fallback() is None
    (tmp_path / "brokerbot.toml").unlink()
    (tmp_path / "brokerbot.db").write_bytes(b"")
    assert Settings().demo_fallback() is None


SECRETS = ("wecom_secret", "wecom_aes_key", "wecom_token", "dingtalk_client_secret", "slack_bot_token",
           "slack_signing_secret", "slack_app_token", "llm_api_key", "secret_key")


def test_no_secret_is_printed_with_the_settings(monkeypatch):
    values = {name: f"s3cr3t-{name}" for name in SECRETS}
    monkeypatch.setenv("BROKERBOT_WECOM_SECRET", values.pop("wecom_secret"))  # from the environment too
    settings = Settings(**values)
    for shown in (repr(settings), str(settings), str(settings.model_dump())):
        assert "s3cr3t" not in shown
    assert settings.reveal("wecom_secret") == "s3cr3t-wecom_secret"
    assert settings.reveal("llm_api_key") == "s3cr3t-llm_api_key" and Settings().reveal("slack_app_token") is None
    settings.slack_bot_token = "xoxb-assigned"  # tests and shells set them as plain strings
    assert "xoxb" not in repr(settings) and settings.reveal("slack_bot_token") == "xoxb-assigned"
