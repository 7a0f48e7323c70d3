"""`brokerbot demo` as a newcomer runs it: it builds the data once, serves it, and answers in
the terminal chat with --chat."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.bot.test_service import free_port


def test_demo_builds_once_and_answers_a_margin_question(cli, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo always makes its own SQLite database")
    now = "2026-11-18T10:30:00+08:00"
    first = cli("demo", "--chat", "--dir", str(tmp_path / "demo"), "--now", now, input="张三的保证金还够吗\n李四的保证金\n")
    assert first.returncode == 0, first.stderr
    assert "演示数据已生成" in first.stderr and "wangfang" in first.stderr
    assert "brokerbot demo --chat --as LOGIN" in first.stderr  # the command that opens a chat
    assert "brokerbot demo --as LOGIN" not in first.stderr
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


NOW = "2026-11-18T10:30:00+08:00"


def run_here(folder, *args: str, input: str | None = None, timeout: float = 120, **extra_env):
    """The real command in `folder` with no BROKERBOT_* setting: as a newcomer runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERBOT_")}
    env.update(PYTHONIOENCODING="utf-8", **extra_env)
    return subprocess.run([sys.executable, "-m", "bot", *args], input=input, capture_output=True, text=True,
                          cwd=folder, env=env, timeout=timeout)


def test_commands_in_the_demo_folder_use_the_demo_database(tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo always makes its own SQLite database")
    built = run_here(tmp_path, "demo", "--no-serve", "--now", NOW)
    assert built.returncode == 0, built.stderr
    scan = run_here(tmp_path, "risk", "scan", "--now", NOW)
    assert scan.returncode == 0, scan.stderr
    assert "赵建国" in scan.stdout and "margin_call" in scan.stdout  # the demo's clients, not an empty database
    assert "using the demo database in ./brokerbot-demo" in scan.stderr
    chat = run_here(tmp_path, "chat", "--as", "wangfang", "--now", NOW, input="张三的保证金还够吗\n我的风险预警\n")
    assert chat.returncode == 0, chat.stderr
    assert "客户权益" in chat.stdout and "赵建国" in chat.stdout
    token = run_here(tmp_path, "token", "create", "--name", "back-office")
    assert token.returncode == 0, token.stderr
    listed = run_here(tmp_path, "token", "list")
    assert "back-office" in listed.stdout
    assert not (tmp_path / "brokerbot.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brokerbot-demo"]
    # A database named in the settings is used instead, demo folder or not.
    elsewhere = run_here(tmp_path, "risk", "scan", "--now", NOW,
                         BROKERBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'own.db'}")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "赵建国" not in elsewhere.stdout and "demo database" not in elsewhere.stderr


def _busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_demo_on_a_busy_port_says_so_and_names_a_free_one(tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo always makes its own SQLite database")
    sock, port = _busy_port()
    with sock:
        result = run_here(tmp_path, "demo", "--port", str(port), timeout=60)
    assert result.returncode != 0
    found = re.search(rf"port {port} is in use; try --port (\d+)", result.stderr)
    assert found, result.stderr
    suggested = int(found.group(1))
    assert suggested != port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))  # it is free
    assert "服务启动于" not in result.stderr and "http://" not in result.stderr and "Traceback" not in result.stderr


def test_serve_on_a_busy_port_says_so(cli, tmp_path):
    sock, port = _busy_port()
    with sock:
        result = cli("serve", "--port", str(port), timeout=60)
    assert result.returncode != 0
    assert re.search(rf"port {port} is in use; try --port \d+", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
