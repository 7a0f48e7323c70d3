"""Shared fixtures. Every database test runs on SQLite and, when BROKERBOT_TEST_PG_URL is set,
on PostgreSQL in a schema of its own that is dropped afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App
from bot.settings import Settings
from tests.pg_schema import scratch_schema
from tests.testbot import TestBot
from tests.worlds import NOW, branch

PG_URL = os.environ.get("BROKERBOT_TEST_PG_URL")
# Which databases the database tests run on (CI runs the suite once per backend).
BACKENDS = os.environ.get("BROKERBOT_TEST_BACKENDS", "sqlite,postgresql").split(",")
TEST_KEY = "brokerbot-test-secret-key-0123456789"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param not in BACKENDS:
        pytest.skip(f"BROKERBOT_TEST_BACKENDS excludes {request.param}")
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brokerbot.db'}"
        return
    if not PG_URL:
        pytest.skip("BROKERBOT_TEST_PG_URL is not set")
    with scratch_schema(PG_URL) as url:
        yield url


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, secret_key=TEST_KEY, data_dir=tmp_path,
                    timezone="Asia/Shanghai")


@pytest.fixture
def app(settings):
    bot = App(settings).ready()
    yield bot
    bot.close()


@pytest.fixture
def session(app):
    with app.db.session() as s:
        yield s


@pytest.fixture
def crm(app, session):
    """The branch of tests/worlds.py: two teams, their managers, supervisors and clients."""
    return branch(app, session)


@pytest.fixture
def testbot(app) -> TestBot:
    """The chat as staff use it: `testbot.push(text, as_=login)`, `testbot.pop()` (tests/testbot.py)."""
    return TestBot(app, now=NOW)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(db_url, tmp_path):
    """Runs the real `brokerbot` command in a subprocess against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    env.update(BROKERBOT_DATABASE_URL=db_url, BROKERBOT_SECRET_KEY=TEST_KEY,
               BROKERBOT_DATA_DIR=str(tmp_path), PYTHONIOENCODING="utf-8")

    def run(*args: str, input: str | None = None, cwd: Path | None = None, extra_env: dict | None = None,
            timeout: float = 120) -> Result:
        proc = subprocess.run([sys.executable, "-m", "bot", *args], input=input, capture_output=True,
                              text=True, cwd=cwd or tmp_path, env={**env, **(extra_env or {})},
                              timeout=timeout)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
