"""Finds the YAML business-rule files: BROKERBOT_CONFIG_DIR first, then the packaged defaults."""
from __future__ import annotations

from pathlib import Path

import yaml

NAMES = ("risk_rules.yaml", "approval_flows.yaml", "channels.yaml", "suitability.yaml", "messages.yaml")


class ConfigFileError(ValueError):
    """A YAML rule file is unreadable or invalid; the message names the file and the problem."""


def default_dir() -> Path:
    try:
        import brokerbot_config  # installed package (pyproject maps config/ to it)

        return Path(brokerbot_config.__file__).parent
    except ImportError:  # running from a checkout that was not installed
        return Path(__file__).resolve().parent.parent / "config"


def find(name: str, override_dir: Path | None) -> Path:
    if override_dir is not None and (override_dir / name).is_file():
        return override_dir / name
    return default_dir() / name


def load(name: str, override_dir: Path | None) -> dict:
    path = find(name, override_dir)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigFileError(f"{path}{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: expected a mapping at the top level")
    data["__file__"] = str(path)
    return data
