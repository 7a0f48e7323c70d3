"""Intents as plug-ins: a package with one handler module and a catalog.yaml fragment, named in
BROKERBOT_INTENT_PACKAGES, adds an intent that the real pipeline recognises and answers, beside
the built-in ones; a bad catalog entry stops start-up naming the entry."""
from __future__ import annotations

import logging
import sys
import textwrap
from datetime import datetime

import pytest

from bot.platforms.terminal.adapter import TerminalSession
from bot.pipeline import Pipeline
from bot.settings import Settings
from crm_core.staff import Role
from intents.catalog import CatalogError
from intents.registry import HANDLERS, PACKAGES, load_all
from tests import factories as f
from tests.conftest import TEST_KEY

NOW = datetime.fromisoformat("2026-11-18T09:30:00+08:00")
JOKE = "天气预报说明天有雨，可保证金不会因此变湿。"

HANDLER = f'''
from intents.registry import handler
from messaging.replies import Reply


@handler("weather_joke")
def weather_joke(ctx, intent):
    return Reply({JOKE!r})
'''

FRAGMENT = """
intents:
  weather_joke:
    description: A joke about the weather.
    in_group: post
    rule:
      priority: 5
      when:
        - {patterns: [天气笑话|weather joke]}
    slots: {}
    examples: [讲个天气笑话, tell me a weather joke]
"""


def write_package(root, name: str, fragment: str = FRAGMENT) -> str:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text('"""A plug-in intent package for the tests."""\n', encoding="utf-8")
    (package / "joke.py").write_text(HANDLER, encoding="utf-8")
    (package / "catalog.yaml").write_text(textwrap.dedent(fragment), encoding="utf-8")
    return name


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """tmp_path on sys.path; afterwards the plug-ins are forgotten and the catalog is the built-in one."""
    root = tmp_path / "plugins"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield root
    for module in [m for m in sys.modules if m.split(".")[0] in {p.name for p in root.iterdir()}]:
        del sys.modules[module]
    HANDLERS.pop("weather_joke", None)
    load_all(PACKAGES)


@pytest.fixture
def settings(settings, plugin_path):
    return settings.model_copy(update={"intent_packages": [write_package(plugin_path, "weather_plugin")]})


def test_an_intent_from_a_plugin_package_is_recognised_and_answered(app, session, caplog):
    m1 = f.staff(session, "m1", "王芳", Role.manager)
    f.client(session, "张三", m1, ["90012345"])
    session.commit()
    chat = TerminalSession("m1", Pipeline(app).handle, now=NOW, tz=app.db.tz)

    with caplog.at_level(logging.INFO, logger="brokerbot.pipeline"):
        reply = chat.send("给我讲个天气笑话")
    assert reply.text == JOKE
    assert [r.intent for r in caplog.records if hasattr(r, "intent")] == ["weather_joke"]

    # The built-in intents work beside it, and without its cue the plug-in stays quiet.
    assert chat.send("帮助").text == app.messages.t("help", "zh")
    assert "90012345" in chat.send("张三的资料").text
    assert chat.send("明天天气怎么样").text == app.messages.t("unknown_intent", "zh")


def test_brokerbot_parse_names_the_plugin_intent(cli, tmp_path):
    root = tmp_path / "plugins"
    root.mkdir()
    name = write_package(root, "weather_plugin_cli")
    env = {"BROKERBOT_INTENT_PACKAGES": name, "PYTHONPATH": str(root)}
    cli("init")
    out = cli("parse", "tell me a weather joke", extra_env=env)
    assert out.returncode == 0, out.stderr
    assert '"intent": "weather_joke"' in out.stdout
    out = cli("parse", "帮助", extra_env=env)
    assert '"intent": "help"' in out.stdout


def test_the_setting_reads_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("BROKERBOT_INTENT_PACKAGES", "acme_intents, weather_plugin")
    assert Settings(secret_key=TEST_KEY).intent_packages == ["acme_intents", "weather_plugin"]


@pytest.mark.parametrize("n, change, named", [
    (1, "priority: 5", "priority: 0"),
    (2, "{patterns: [天气笑话|weather joke]}", "{cues: [no_such_cue]}"),
    (3, "priority: 5", "priority: 5\n      readers: [no_such_reader]"),
    (4, "priority: 5", "priority: 10"),  # help's
    (5, "weather_joke:", "help:"),
])
def test_a_bad_plugin_entry_stops_start_up_naming_it(plugin_path, n, change, named):
    bad = FRAGMENT.replace(change, named)
    assert bad != FRAGMENT
    name = write_package(plugin_path, f"bad_plugin_{n}", bad)
    with pytest.raises(CatalogError) as error:
        load_all((*PACKAGES, name))
    entry = "help" if named == "help:" else "weather_joke"
    assert f"intent {entry}" in str(error.value)
    for word in ("no_such_cue", "no_such_reader"):
        if word in named:
            assert word in str(error.value)
