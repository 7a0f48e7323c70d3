"""`brokerbot demo` as a newcomer runs it: it builds the data once, serves it, and answers in
the terminal chat with --chat."""
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.test_service import free_port


def test_demo_builds_once_and_answers_a_margin_question(cli, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo always makes its own SQLite database")
    now = "2026-11-18T10:30:00+08:00"
    first = cli("demo", "--chat", "--dir", str(tmp_path / "demo"), "--now", now, input="张三的保证金还够吗\n李四的保证金\n")
    assert first.returncode == 0, first.stderr
    assert "演示数据已生成" in first.stderr and "wangfang" in first.stderr
    assert re.search(r"客户权益：[\d,]+\.\d\d", first.stdout)
    assert re.search(r"风险度：\d+\.\d\d%（警告）", first.stdout)
    assert "数据时间：2026-11-18 10:30" in first.stdout
    assert "没有找到您名下（或权限范围内）的客户「李四」" in first.stdout
    again = cli("demo", "--chat", "--dir", str(tmp_path / "demo"), "--now", now, "--as", "zhaolei",
                input="李四的保证金\n")
    assert again.returncode == 0, again.stderr
    assert "使用已有的演示数据" in again.stderr
    assert "客户权益" in again.stdout  # the risk officer sees every client


def test_demo_serves_the_demo_data_until_stopped(tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo always makes its own SQLite database")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.3)
        assert answer is not None and answer.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}" in err and "brokerbot demo --chat" in err
    assert (tmp_path / "brokerbot-demo" / "brokerbot.db").is_file()
