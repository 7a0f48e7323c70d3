"""A plain `pip install .` must carry every package, the default YAML and the migrations."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_on_disk_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = set()
    for top in ("bot", "intents", "crm_core", "notifiers", "messaging"):
        for init in (ROOT / top).rglob("__init__.py"):
            on_disk.add(".".join(init.parent.relative_to(ROOT).parts))
    assert on_disk | {"brokerbot_config"} == listed


def test_installed_config_has_every_default_yaml():
    from crm_core import config_files

    for name in ("risk_rules.yaml", "messages.yaml"):
        assert (config_files.default_dir() / name).is_file(), name
