"""The issue's acceptance path, through the real command: db upgrade, import the four files,
then ask in the chat from a pipe."""
from pathlib import Path

import pytest

NOW = "2026-11-19T09:30:00+08:00"

STAFF = """login,name,role,team,supervisor,wecom_userid,dingtalk_userid,slack_user_id,notify_via
zhouzj,周总监,supervisor,华东一部,,zhouzj,ding001,U001,
wufang,吴芳,manager,华东一部,zhouzj,wufang,ding002,U002,wecom
liuyang,刘洋,manager,华东二部,,liuyang,ding003,U003,
"""
CLIENTS = """name,account_no,phone,id_number,manager,risk_level,tags,birthday,client_type
张三,90012345,13812345678,,wufang,C4,套保;高净值,1985-03-07,individual
李四,90020001;90020002,,,liuyang,C3,,,
"""
SNAPSHOTS = """account_no,timestamp,trading_day,pre_balance,deposit,withdraw,close_profit,position_profit,commission,balance,curr_margin,exchange_margin,frozen_margin,available
90012345,2026-11-18T15:00:00+08:00,20261118,1250000.00,200000.00,0,18350.00,-42600.00,386.40,1425363.60,751468.00,601174.40,0,673895.60
90020001,2026-11-18T15:00:00+08:00,20261118,,,,,,,500000.00,525000.00,,,
"""
POSITIONS = """account_no,timestamp,exchange,instrument,direction,volume,open_price,settlement_price,position_profit,margin,hedge_flag
90012345,2026-11-18T15:00:00+08:00,SHFE,rb2601,long,30,3105,3098,-14200.00,287640.00,speculation
"""


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    out = {}
    for kind, body in (("staff", STAFF), ("clients", CLIENTS), ("snapshots", SNAPSHOTS), ("positions", POSITIONS)):
        out[kind] = tmp_path / f"{kind}.csv"
        out[kind].write_text(body, encoding="utf-8")
    return out


def test_import_then_ask_in_the_chat(cli, files):
    assert cli("db", "upgrade").returncode == 0
    for kind in ("staff", "clients", "snapshots", "positions"):
        result = cli("import", kind, str(files[kind]))
        assert result.returncode == 0, result.stderr
    mine = cli("chat", "--as", "wufang", "--now", NOW, input="张三的保证金还够吗\n他的持仓呢\n")
    assert mine.returncode == 0, mine.stderr
    for figure in ("客户权益：1,425,363.60", "保证金占用：751,468.00", "可用资金：673,895.60",
                   "风险度：52.72%（正常）", "数据时间：2026-11-18 15:00", "rb2601（SHFE）多 30手"):
        assert figure in mine.stdout
    other = cli("chat", "--as", "liuyang", "--now", NOW, input="张三的保证金还够吗\n李四的保证金\n")
    assert "1,425,363.60" not in other.stdout and "没有找到您名下（或权限范围内）的客户「张三」" in other.stdout
    # 李四's first account is over 100%: the margin call shows; the second has no data yet.
    assert "风险度：105.00%（追保）" in other.stdout and "应追加资金：25,000.00" in other.stdout
    assert "90020002）还没有资金数据" in other.stdout


def test_bad_file_changes_nothing_and_the_same_files_twice_leave_the_same_data(cli, files, tmp_path):
    for kind in ("staff", "clients", "snapshots"):
        assert cli("import", kind, str(files[kind])).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(CLIENTS.replace("wufang,C4", "nobody,C4") + "王五,,123,,wufang,C9,,,\n", encoding="utf-8")
    result = cli("import", "clients", str(bad))
    assert result.returncode != 0
    assert "bad.csv:2:" in result.stderr and "bad.csv:4:" in result.stderr
    before = cli("chat", "--as", "wufang", "--now", NOW, input="张三的资料\n王五的资料\n").stdout
    assert "吴芳" in before and "没有找到您名下（或权限范围内）的客户「王五」" in before
    for kind in ("staff", "clients", "snapshots"):
        again = cli("import", kind, str(files[kind]))
        assert again.returncode == 0 and "0 created" in again.stdout and "0 updated" in again.stdout
    assert cli("chat", "--as", "wufang", "--now", NOW, input="张三的资料\n王五的资料\n").stdout == before
