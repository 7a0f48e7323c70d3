"""Finds the YAML business-rule files: BROKERBOT_CONFIG_DIR first, then the packaged defaults."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

NAMES = ("risk_rules.yaml", "approval_flows.yaml", "channels.yaml", "suitability.yaml", "messages.yaml")


class ConfigFileError(ValueError):
    """A YAML rule file is unreadable or invalid; the message names the file and the problem."""


def default_dir() -> Path:
    spec = importlib.util.find_spec("brokerbot_config")  # installed: pyproject maps config/ to it
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    return Path(__file__).resolve().parent.parent / "config"  # a checkout that was not installed


def find(name: str, override_dir: Path | None) -> Path:
    if override_dir is not None and (override_dir / name).is_file():
        return override_dir / name
    return default_dir() / name


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key, for error messages."""

    lines: dict


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def line_of(data, loc: tuple) -> int | None:
    """The line of the deepest key or list item of `loc` (a pydantic error location) found in the file."""
    line, node = None, data
    for part in loc:
        if isinstance(node, _Mapping) and part in node:
            line, node = node.lines.get(part, line), node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, _Mapping) and node.lines:  # a list item: where it starts
                line = min(node.lines.values())
        else:
            break
    return line


def validated(name: str, override_dir: Path | None, model: type[M]) -> M:
    """Load a rule file and validate it with a pydantic model; a bad value stops start-up with
    the file, the line and the reason."""
    data = load(name, override_dir)
    where = data.pop("__file__")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
        line = line_of(data, loc)
        at = f" line {line}" if line else ""
        field = ".".join(str(part) for part in loc) or "file"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigFileError(f"{where}{at}: {field}: {error['msg']}{more}") from None


def load(name: str, override_dir: Path | None) -> dict:
    path = find(name, override_dir)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
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
