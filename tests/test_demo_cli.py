"""`brokerbot demo` as a newcomer runs it: it builds the data once and answers in the chat."""
import re

import pytest


def test_demo_builds_once_and_answers_a_margin_question(cli, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo always makes its own SQLite database")
    now = "2026-11-18T10:30:00+08:00"
    first = cli("demo", "--dir", str(tmp_path / "demo"), "--now", now, input="张三的保证金还够吗\n李四的保证金\n")
    assert first.returncode == 0, first.stderr
    assert "演示数据已生成" in first.stderr and "wangfang" in first.stderr
    assert re.search(r"客户权益：[\d,]+\.\d\d", first.stdout)
    assert re.search(r"风险度：\d+\.\d\d%（警告）", first.stdout)
    assert "数据时间：2026-11-18 10:30" in first.stdout
    assert "不是您权限范围内" in first.stdout
    again = cli("demo", "--dir", str(tmp_path / "demo"), "--now", now, "--as", "zhaolei",
                input="李四的保证金\n")
    assert again.returncode == 0, again.stderr
    assert "使用已有的演示数据" in again.stderr
    assert "客户权益" in again.stdout  # the risk officer sees every client
