"""`brokerbot serve` as an operator runs it, and the durable inbox under platform retries."""
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import httpx

from crm_core.inbox import claim
from tests.conftest import TEST_KEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_healthz_and_stops_gracefully(db_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    env.update(BROKERBOT_DATABASE_URL=db_url, BROKERBOT_SECRET_KEY=TEST_KEY, BROKERBOT_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200
        assert answer.json() == {"status": "ok", "database": "ok"}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    log = (tmp_path / "brokerbot.log").read_text()
    assert "service started" in log and "service stopped" in log


def test_a_retried_message_is_claimed_once(app, session):
    now = datetime.now(timezone.utc)
    assert claim(session=session, platform="wecom", key="msg-1", now=now) is True
    for _ in range(3):
        assert claim(session=session, platform="wecom", key="msg-1", now=now) is False
    assert claim(session=session, platform="slack", key="msg-1", now=now) is True
    session.commit()
    with app.db.session() as other:  # another replica sees the claim
        assert claim(session=other, platform="wecom", key="msg-1", now=now) is False


def test_claims_older_than_a_week_are_forgotten_and_newer_ones_kept(app, session):
    from datetime import timedelta

    from crm_core.inbox import forget_old

    now = datetime.now(timezone.utc)
    claim(session=session, platform="wecom", key="old", now=now - timedelta(days=8))
    claim(session=session, platform="wecom", key="new", now=now - timedelta(days=1))
    assert forget_old(session=session, now=now) == 1
    assert claim(session=session, platform="wecom", key="new", now=now) is False
    assert claim(session=session, platform="wecom", key="old", now=now) is True


def test_the_log_is_one_json_object_per_line_with_the_correlation_id_and_the_message(app, tmp_path):
    import json
    import logging

    from bot import logs
    from bot.events import ChatEvent
    from bot.pipeline import Pipeline
    from crm_core.staff import Role
    from tests import factories as f

    with app.db.transaction() as session:
        f.staff(session, "wangfang", "王芳", Role.manager)
    path = logs.setup(tmp_path / "logs")
    try:
        reply = Pipeline(app).handle(ChatEvent("terminal", "m-1", "wangfang", "我的风险预警",
                                               datetime.now(timezone.utc)))
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "_brokerbot", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert "没有" in reply.text
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    [entry] = [e for e in entries if e.get("intent") == "list_alerts"]
    assert entry["message_id"] == "m-1" and entry["platform"] == "terminal" and len(entry["cid"]) == 12
