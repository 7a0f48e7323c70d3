"""The importers through their API, on SQLite and PostgreSQL, with real files."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm_core import audit
from crm_core.accounts import Account
from crm_core.audit import AuditEntry
from crm_core.clients import Client
from crm_core.importers import ImportFileError, import_file
from crm_core.margin import MarginSnapshot, Position, latest_positions
from crm_core.staff import Staff

DATA = Path(__file__).parents[1] / "data"
CST = timezone(timedelta(hours=8))
CLIENTS_HEADER = "name,account_no,phone,id_number,manager,risk_level,tags,birthday,client_type\n"


def run(session, kind, path, **options):
    report = import_file(session=session, kind=kind, path=path, source_user="tester", **options)
    session.commit()
    return report


def write(tmp_path, name, text, *, encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def xlsx(tmp_path, name, rows) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / name)
    return tmp_path / name


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def load_samples(session, *kinds):
    for kind in kinds:
        report = run(session, kind, DATA / f"{kind}.csv")
        assert report.bad_rows == [], report.bad_rows


def test_every_bad_row_is_reported_by_its_line_and_nothing_is_imported(session, tmp_path):
    load_samples(session, "staff")
    path = write(tmp_path, "clients.csv", CLIENTS_HEADER +
                 "张三,90001001,13800138000,,wangfang,C4,,,\n"
                 '李四,90001003,,,wangfang,,"VIP;\n大户",,\n'  # a line break inside a cell: lines 3-4
                 "王五,90001004,1380013800,,,,,,\n"
                 "赵六,90001005,,110105198503121235,,,,,\n"
                 "钱七,90001006,,,nobody,C6,,,\n"
                 "孙八,90001001,,,,,,,\n"
                 ",90001007,,,,,,,\n"
                 "周九,,,,,,,2026-02-30,company\n")
    report = run(session, "clients", path)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (5, "phone: 1380013800 is not a mobile number (11 digits starting with 1) or a landline number"),
        (6, "id_number: 110105198503121235 has a wrong check digit (expected 4)"),
        (7, "risk_level: C6 is not one of C1, C2, C3, C4, C5; manager: no staff member with login nobody"),
        (8, "account_no: 90001001 is a duplicate of line 2"),
        (9, "name: empty, but required"),
        (10, "birthday: 2026-02-30 is not a date such as 2026-11-18 or 20261118; "
             "client_type: company is not one of individual, institution"),
    ]
    assert not report.applied and count(session, Client) == 0
    assert "6 bad row(s) of 8; nothing imported" in report.summary()


def test_skip_invalid_imports_the_good_rows_and_still_lists_the_bad(session, tmp_path):
    load_samples(session, "staff")
    path = write(tmp_path, "clients.csv", CLIENTS_HEADER +
                 "张三,90001001,13800138000,,wangfang,C4,,,\n"
                 "李四,90001003,12345,,wangfang,,,,\n"
                 "王五,90001004,,,zhaolei,,,,\n")
    report = run(session, "clients", path, skip_invalid=True)
    assert [bad.line for bad in report.bad_rows] == [3]
    assert report.summary() == "clients.csv: 3 rows — 2 created, 0 updated, 0 unchanged, 1 skipped"
    assert sorted(session.scalars(select(Client.name))) == ["张三", "王五"]


def test_xlsx_rows_are_numbered_as_in_the_sheet_and_numbers_become_exact_decimals(session, tmp_path):
    load_samples(session, "staff", "clients")
    header = ["account_no", "timestamp", "balance", "curr_margin", "frozen_margin"]
    path = xlsx(tmp_path, "funds.xlsx", [
        header,
        [90001001, datetime(2026, 11, 18, 10, 30), 987964.3, 419588.12, 0.1 + 0.2],  # float noise
        [None] * 5,  # an empty row keeps its number
        ["90001003", "2026-11-18T10:30:00+08:00", 12.345, 1000, None],
        [90009999, datetime(2026, 11, 18, 10, 30), 1000, 10, None],
        ["90002001", datetime(2026, 11, 18, 10, 30), 19995085.19, 8491000, None],
    ])
    report = run(session, "snapshots", path)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (4, "balance: 12.345 has more than 2 decimal places"),
        (5, "account_no: no account 90009999; import it with the clients file first"),
    ]
    assert count(session, MarginSnapshot) == 0
    report = run(session, "snapshots", path, skip_invalid=True)
    assert (report.created, report.skipped) == (2, 2)
    snap = session.scalar(select(MarginSnapshot).join(Account).where(Account.account_no == "90001001"))
    assert (snap.balance, snap.curr_margin, snap.frozen_margin) == (
        Decimal("987964.30"), Decimal("419588.12"), Decimal("0.30"))
    assert snap.available == Decimal("568375.88")
    assert snap.timestamp == datetime(2026, 11, 18, 10, 30, tzinfo=CST)  # naive: business time
    big = session.scalar(select(MarginSnapshot.balance).join(Account).where(Account.account_no == "90002001"))
    assert big == Decimal("19995085.19")


def test_xlsx_clients_with_numeric_cells(session, tmp_path):
    load_samples(session, "staff")
    path = xlsx(tmp_path, "clients.xlsx", [
        CLIENTS_HEADER.strip().split(","),
        ["张三", 90001001, 13800138000, "110105198503121234", "wangfang", "c4", None, datetime(1985, 3, 12), None],
        ["李四", 90001003, None, 3.10115199007074e17, "wangfang", None, None, None, None],
    ])
    report = run(session, "clients", path, skip_invalid=True)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (3, "id_number: 3.10115199007074e+17 was stored as a number and lost digits; "
            "format the column as text")]
    client = session.scalar(select(Client))
    assert [a.account_no for a in client.accounts] == ["90001001"]
    assert client.masked_phone(session.info["cipher"]) == "138****8000"
    assert (client.risk_level, str(client.birthday)) == ("C4", "1985-03-12")


def test_reimport_changes_nothing_and_a_changed_file_updates_what_changed(session, tmp_path):
    kinds = ("staff", "clients", "snapshots", "positions")
    load_samples(session, *kinds)
    models = (Staff, Client, Account, MarginSnapshot, Position, AuditEntry)
    before = [count(session, model) for model in models]
    stamp = session.scalar(select(Client.updated_at).where(Client.name == "张三"))
    for kind in kinds:
        report = run(session, kind, DATA / f"{kind}.csv")
        assert (report.created, report.updated, report.unchanged) == (0, 0, report.rows), kind
    assert [count(session, model) for model in models] == before  # no audit entry either
    assert session.scalar(select(Client.updated_at).where(Client.name == "张三")) == stamp

    changed = (DATA / "clients.csv").read_text().replace("13800138000", "13900001111").replace(",C4,", ",C5,")
    report = run(session, "clients", write(tmp_path, "clients.csv", changed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    session.expire_all()
    zhang = session.scalar(select(Client).where(Client.name == "张三"))
    assert zhang.risk_level == "C5" and zhang.masked_phone(session.info["cipher"]) == "139****1111"
    assert zhang.source_text == "clients.csv:2" and zhang.source_user == "tester"

    # A positions file is the report of the account's positions at its time: a row left out is gone.
    lines = (DATA / "positions.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",30,", ",25,")
    del lines[3]
    report = run(session, "positions", write(tmp_path, "positions.csv", "\n".join(lines) + "\n"))
    assert (report.created, report.updated, report.unchanged, report.removed) == (0, 1, 2, 1)
    held = session.execute(select(Position.instrument, Position.volume).join(Account)
                           .where(Account.account_no == "90001001").order_by(Position.instrument)).all()
    assert held == [("m2605", 20), ("rb2605", 25)]
    assert audit.verify(session=session)[1] is None


def test_snapshot_times_and_defaults(session, tmp_path):
    load_samples(session, "staff", "clients", "snapshots")
    rows = session.execute(select(MarginSnapshot).join(Account).where(Account.account_no == "90001001")
                           .order_by(MarginSnapshot.timestamp)).scalars().all()
    assert [r.timestamp for r in rows] == [datetime(2026, 11, 18, 10, 30, tzinfo=CST),
                                           datetime(2026, 11, 18, 15, 0, tzinfo=CST)]  # trading day close
    assert rows[1].available == Decimal("570459.90")  # balance - curr_margin - frozen_margin
    assert rows[1].risk_degree == Decimal("0.423772")  # curr_margin / balance
    assert rows[0].source_platform == "import" and rows[0].source_text == "snapshots.csv:2"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.snapshots"))
    assert entry.actor == "import" and entry.details["created"] == 4 and entry.details["file"] == "snapshots.csv"

    path = write(tmp_path, "s.csv", "account_no,timestamp,trading_day,balance,curr_margin\n"
                                    "90001001,,,100,10\n90001001,2026-11-18T10:30:00+08:00,,100,10\n"
                                    "90001001,2026-11-18 10:30,,100,10\n")
    report = run(session, "snapshots", path)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (2, "timestamp: empty, and no trading_day to take 15:00 of"),
        (4, "account_no 90001001 at 2026-11-18T10:30:00+08:00 is a duplicate of line 3")]


def test_staff_supervisors_and_referential_errors(session, tmp_path):
    load_samples(session, "staff")  # wangfang's supervisor liqiang is defined further down
    by_login = {s.login: s for s in session.scalars(select(Staff))}
    assert by_login["wangfang"].supervisor_id == by_login["liqiang"].id
    assert by_login["wangfang"].team_name == "华东一部" and by_login["chenjing"].team_name == "风控部"
    path = write(tmp_path, "staff2.csv",
                 "login,name,role,supervisor,wecom_userid,notify_via\n"
                 "sunli,孙丽,manager,zhouyu,,\n"
                 "zhouyu,周瑜,chief,,,\n"
                 "qianwei,钱伟,manager,nobody,wangfang,\n"
                 "wuhao,吴昊,manager,wuhao,,slack\n")
    report = run(session, "staff", path)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (2, "supervisor: zhouyu is defined on line 3, which is bad"),
        (3, "role: chief is not one of manager, supervisor, risk, compliance, admin"),
        (4, "wecom_userid: wangfang already belongs to staff member wangfang; "
            "supervisor: no staff member with login nobody"),
        (5, "supervisor: wuhao is the row's own login; notify_via: slack, but slack_user_id is empty"),
    ]

    load_samples(session, "clients")
    path = write(tmp_path, "clients2.csv", CLIENTS_HEADER +
                 "赵六,90001001,,,,,,,\n"  # 张三's account
                 "张三,90001002;90001003,,,,,,,\n"  # accounts of two clients
                 "张三,,,110105198503121234,,C5,,,\n")  # matches by ID number
    report = run(session, "clients", path, skip_invalid=True)
    assert [bad.line for bad in report.bad_rows] == [2, 3]
    assert report.bad_rows[0].reason.startswith("account_no: 90001001 belongs to another client (张三, id ")
    assert report.bad_rows[1].reason == "account_no: 90001002 and 90001003 belong to different clients"
    assert (report.created, report.updated) == (0, 1)

    path = write(tmp_path, "p.csv", "account_no,timestamp,exchange,instrument,direction,volume,hedge_flag\n"
                                    "90001001,2026-11-18T15:00:00+08:00,SHFE,rb2605,long,3,\n"
                                    "90001001,2026-11-18T15:00:00+08:00,NYMEX,CL,long,0,\n"
                                    "99999999,2026-11-18T15:00:00+08:00,SHFE,rb2605,buy,1,\n")
    report = run(session, "positions", path, skip_invalid=True)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (2, "not imported: line 3 of the same report (account 90001001, 2026-11-18T15:00:00+08:00) is bad"),
        (3, "exchange: NYMEX is not one of SHFE, DCE, CZCE, CFFEX, INE, GFEX, SSE, SZSE; "
            "volume: 0 is not a positive whole number"),
        (4, "direction: buy is not one of long, short; "
            "account_no: no account 99999999; import it with the clients file first"),
    ]
    assert count(session, Position) == 0


def test_files_refused_as_a_whole(session, tmp_path):
    cases = {
        "snapshots": ("account_no,balance,available\n1,2,3\n", "missing required column(s): curr_margin"),
        "staff": ("", "the file is empty; it needs a header row (login,name,role,team,supervisor,"
                      "wecom_userid,dingtalk_userid,slack_user_id,notify_via)"),
        "clients": ("name,Name\n张三,张三\n", "column name appears twice in the header"),
    }
    for kind, (text, message) in cases.items():
        with pytest.raises(ImportFileError) as refused:
            run(session, kind, write(tmp_path, f"{kind}.csv", text))
        assert str(refused.value) == message
    gbk = write(tmp_path, "gbk.csv", CLIENTS_HEADER + "张三,,,,,,,,\n", encoding="gbk")
    with pytest.raises(ImportFileError, match="line 2 is not UTF-8 text"):
        run(session, "clients", gbk)


def test_bom_header_case_and_unknown_columns(session, tmp_path):
    text = "\ufeff Name ,Account No,RISK_LEVEL,colour,备注\n张三,90001001,c3,red,老客户\n"
    report = run(session, "clients", write(tmp_path, "excel.csv", text))
    assert report.unknown_columns == ["colour", "备注"]
    assert report.created == 1 and report.bad_rows == []
    client = session.scalar(select(Client))
    assert (client.name, client.risk_level, client.accounts[0].account_no) == ("张三", "C3", "90001001")


POSITIONS_HEADER = ("account_no,timestamp,exchange,instrument,direction,volume,open_price,settlement_price,"
                    "position_profit,margin,hedge_flag\n")


def held(session, account_no):
    account = session.scalar(select(Account.id).where(Account.account_no == account_no))
    session.expire_all()
    return [(p.instrument, p.volume) for p in latest_positions(session=session, account_id=account)]


def test_a_row_with_only_account_and_time_reports_the_account_flat(session, tmp_path):
    load_samples(session, "staff", "clients", "positions")
    assert len(held(session, "90001001")) == 3
    path = write(tmp_path, "positions-20261119.csv", POSITIONS_HEADER +
                 "90001001,2026-11-19T15:00:00+08:00,,,,,,,,,\n"  # closed everything that day
                 "90001003,2026-11-19T15:00:00+08:00,CZCE,SR605,long,40,5620,5660,16000,240000,\n")
    report = run(session, "positions", path)
    assert report.bad_rows == [] and (report.created, report.unchanged) == (2, 0)
    assert held(session, "90001001") == [] and held(session, "90001003") == [("SR605", 40)]
    again = run(session, "positions", path)
    assert (again.created, again.updated, again.unchanged, again.removed) == (0, 0, 2, 0)

    # The same report naming a position too contradicts itself: neither row is taken.
    path = write(tmp_path, "p.csv", POSITIONS_HEADER +
                 "90001001,2026-11-20T15:00:00+08:00,,,,,,,,,\n"
                 "90001001,2026-11-20T15:00:00+08:00,SHFE,rb2605,long,3,,,,,\n"
                 "90001003,2026-11-20T15:00:00+08:00,,SR605,,,,,,,\n"
                 "90001003,,CZCE,SR605,long,40,,,,,\n")
    report = run(session, "positions", path)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [
        (2, "a row without exchange, instrument, direction and volume reports the account flat, "
            "but line 3 lists a position of the same report"),
        (3, "not imported: line 2 of the same report (account 90001001, 2026-11-20T15:00:00+08:00) is bad"),
        (4, "exchange: empty, but required; direction: empty, but required; volume: empty, but required"),
        (5, "timestamp: empty, but required"),
    ]
    assert held(session, "90001001") == []


def test_a_snapshot_with_no_margin_and_no_position_pl_means_flat_unless_positions_say_otherwise(session, tmp_path):
    load_samples(session, "staff", "clients", "positions")
    header = "account_no,timestamp,balance,curr_margin,position_profit\n"
    snaps = write(tmp_path, "s19.csv", header +
                  "90001001,2026-11-19T15:00:00+08:00,990000.00,0,0\n"  # closed everything
                  "90001003,2026-11-19T15:00:00+08:00,253000.00,0,\n")
    report = run(session, "snapshots", snaps)
    assert (report.created, report.unchanged) == (2, 0)
    assert held(session, "90001001") == [] and held(session, "90001003") == []
    assert run(session, "snapshots", snaps).unchanged == 2

    # A position report of the same moment is what the account held, imported before or after
    # (bought options take no margin).
    positions = write(tmp_path, "p19.csv", POSITIONS_HEADER +
                      "90001003,2026-11-19T15:00:00+08:00,CZCE,SR605,long,40,5620,5660,16000,240000,\n")
    run(session, "positions", positions)
    assert held(session, "90001003") == [("SR605", 40)]
    run(session, "snapshots", snaps)
    assert held(session, "90001003") == [("SR605", 40)]

    # A corrected snapshot with margin withdraws the flat reading it implied.
    run(session, "snapshots", write(tmp_path, "s19.csv", header +
                                    "90001001,2026-11-19T15:00:00+08:00,990000.00,420000.00,-8000\n"))
    assert held(session, "90001001") == [("IF2512", 1), ("m2605", 20), ("rb2605", 30)]
    # A snapshot with position P/L is not flat, whatever its margin.
    run(session, "snapshots", write(tmp_path, "s20.csv", header +
                                    "90001001,2026-11-20T15:00:00+08:00,990000.00,0,-8000\n"))
    assert len(held(session, "90001001")) == 3


def test_rows_dated_in_the_future_are_refused_with_their_time(session, tmp_path):
    load_samples(session, "staff", "clients")
    snapshots = write(tmp_path, "snapshots.csv",
                      "account_no,timestamp,trading_day,balance,curr_margin\n"
                      "90001001,2099-11-18T14:30:00+08:00,,1000000,100000\n"
                      "90001001,,20991118,1000000,100000\n"
                      "90001001,2026-11-18T14:30:00Z,,1000000,100000\n"
                      "90001001,9999-12-31T23:59:59-12:00,,1000000,100000\n")
    report = run(session, "snapshots", snapshots, skip_invalid=True)
    reasons = {bad.line: bad.reason for bad in report.bad_rows}
    assert sorted(reasons) == [2, 3, 5]
    assert reasons[2].startswith("timestamp: 2099-11-18T14:30:00+08:00 is in the future (now 20")
    assert reasons[3].startswith("trading_day: 2099-11-18T15:00:00+08:00 is in the future (now 20")
    assert reasons[5].startswith("timestamp: 9999-12-31T23:59:59-12:00 is outside the times")
    assert count(session, MarginSnapshot) == 1
    positions = write(tmp_path, "positions.csv",
                      "account_no,timestamp,exchange,instrument,direction,volume\n"
                      "90001001,2099-11-18T15:00:00+08:00,SHFE,rb2605,long,30\n"
                      "90001001,2026-11-18T15:00:00+08:00,SHFE,rb2605,long,30\n")
    report = run(session, "positions", positions)
    assert [bad.line for bad in report.bad_rows] == [2] and not report.applied
    assert report.bad_rows[0].reason.startswith("timestamp: 2099-11-18T15:00:00+08:00 is in the future")
    assert count(session, Position) == 0


@pytest.mark.parametrize("cell, reason", [
    ("1e999999999", "balance: 1e999999999 is too large"),
    ("-1E+999999999", "balance: -1E+999999999 is too large"),
    ("1e-999999999", "balance: 1e-999999999 has more than 2 decimal places"),
    ("NaN", "balance: NaN is not a number"),
    ("-Infinity", "balance: -Infinity is not a number"),
    ("9" * 100, f"balance: {'9' * 63}… is too large"),
])
def test_extreme_numbers_are_bad_rows_not_crashes(session, tmp_path, cell, reason):
    load_samples(session, "staff", "clients")
    path = write(tmp_path, "snapshots.csv", "account_no,timestamp,balance,curr_margin\n"
                 f"90001001,2026-11-18T14:30:00+08:00,{cell},1\n")
    report = run(session, "snapshots", path)
    assert [(bad.line, bad.reason) for bad in report.bad_rows] == [(2, reason)]
    # Zero written with many places is still zero.
    path.write_text(path.read_text().replace(cell, "0.0000"))
    assert run(session, "snapshots", path).bad_rows == []
