"""Settlement statements (交易结算单) imported as a person would: the broker's GBK sample, copies
of it changed in one figure, re-encoded or cut short, through the API, the chat and the CLI."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.platforms.terminal.adapter import TerminalSession
from bot.pipeline import Pipeline
from crm_core.audit import AuditEntry
from crm_core.importers import ImportFileError, import_file
from crm_core.margin import MarginSnapshot, Position, latest_positions, latest_snapshot
from crm_core.staff import Role
from tests import factories as f

SAMPLE = Path(__file__).parents[1] / "data" / "settlement_90012345_20261118.txt"
# The next day's statement: every position closed (成交记录 lists the four closing trades), so it
# has no 持仓汇总 and its 保证金占用 is 0.00.
FLAT = Path(__file__).parents[1] / "data" / "settlement_90012345_20261119_flat.txt"
TEXT = SAMPLE.read_bytes().decode("gbk")
NOW = datetime.fromisoformat("2026-11-19T09:30:00+08:00")


@pytest.fixture
def account(app, session):
    east = f.team(session, "华东一部")
    manager = f.staff(session, "m1", "王芳", Role.manager, east)
    client = f.client(session, "张三", manager, ["90012345"])
    session.commit()
    return client.accounts[0].id


def run(session, path):
    report = import_file(session=session, kind="settlement", path=path, source_user="tester")
    session.commit()
    return report


def copy(tmp_path, text, name="statement.txt", encoding="gbk") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def changed(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_the_sample_becomes_the_clients_snapshot_and_positions(app, session, account):
    report = run(session, SAMPLE)
    assert (report.created, report.updated, report.unchanged) == (5, 0, 0)  # 1 snapshot, 4 positions

    snap = latest_snapshot(session=session, account_id=account)
    assert snap.timestamp == datetime.fromisoformat("2026-11-18T15:00:00+08:00")
    assert str(snap.trading_day) == "2026-11-18"
    assert (snap.pre_balance, snap.deposit, snap.withdraw, snap.close_profit, snap.position_profit,
            snap.commission) == tuple(map(Decimal, ("1250000.00", "200000.00", "0.00", "18350.00",
                                                     "-42600.00", "386.40")))
    assert (snap.balance, snap.curr_margin, snap.available) == (
        Decimal("1425363.60"), Decimal("751468.00"), Decimal("673895.60"))
    assert snap.risk_degree == Decimal("0.527211")

    held = latest_positions(session=session, account_id=account)
    assert [(p.exchange, p.instrument, p.direction.value, p.hedge_flag.value, p.volume, p.open_price,
             p.settlement_price) for p in held] == [
        ("CZCE", "MA601", "long", "speculation", 40, Decimal("2450.0000"), Decimal("2462.0000")),
        ("DCE", "i2601", "short", "speculation", 25, Decimal("786.5000"), Decimal("790.0000")),
        ("SHFE", "rb2601", "long", "speculation", 30, Decimal("3105.0000"), Decimal("3098.0000")),
        ("SHFE", "rb2601", "short", "speculation", 20, Decimal("3112.0000"), Decimal("3098.0000")),
    ]
    # rb2601's one row (long 30, short 20) is shared by volume and still adds up to the row.
    assert [(p.margin, p.position_profit) for p in held if p.instrument == "rb2601"] == [
        (Decimal("172584.00"), Decimal("-8520.00")), (Decimal("115056.00"), Decimal("-5680.00"))]
    assert sum(p.margin for p in held) == snap.curr_margin
    assert sum(p.position_profit for p in held) == snap.position_profit
    assert held[0].source_text == f"{SAMPLE.name}:41" and held[0].source_platform == "import"

    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.settlement")).all()
    assert len(entries) == 1 and entries[0].details["created"] == 5


def test_the_chat_answers_with_the_statements_figures(app, session, account):
    run(session, SAMPLE)
    chat = TerminalSession("m1", Pipeline(app).handle, now=NOW, tz=app.db.tz)
    text = chat.send("张三的保证金还够吗").text
    for line in ("客户权益：1,425,363.60", "保证金占用：751,468.00", "可用资金：673,895.60",
                 "风险度：52.72%（正常）", "2026-11-18 15:00"):
        assert line in text, text
    text = chat.send("张三的持仓").text
    assert "rb2601（SHFE）空 20手" in text and "MA601（CZCE）多 40手" in text, text
    assert "保证金 751,468.00" in text


def test_reimport_writes_nothing_and_a_utf8_copy_is_the_same_statement(app, session, account, tmp_path):
    run(session, copy(tmp_path, "\ufeff" + TEXT, encoding="utf-8"))  # with a BOM, as Notepad saves it
    first = latest_snapshot(session=session, account_id=account)
    assert first.balance == Decimal("1425363.60") and first.source_text.startswith("statement.txt:")
    for again in (SAMPLE, SAMPLE):
        report = run(session, again)
        assert (report.created, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert count(session, MarginSnapshot) == 1 and count(session, Position) == 4
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "import.settlement")) == 1


@pytest.mark.parametrize("old, new, named", [
    ("可用资金 Fund Avail.：                 673895.60", "可用资金 Fund Avail.：                 673985.60",
     ["可用资金 is 673985.60", "客户权益 − 保证金占用 = 673895.60"]),
    ("手 续 费 Commission：                       386.40", "手 续 费 Commission：                       396.40",
     ["期末结存 is 1425363.60", "− 手续费 = 1425353.60"]),
    ("风 险 度 Risk Degree：                    52.72%", "风 险 度 Risk Degree：                    57.22%",
     ["风险度 is 57.22%", "保证金占用 / 客户权益 = 52.72%"]),
    ("出 入 金 Deposit/Withdrawal：            200000.00", "出 入 金 Deposit/Withdrawal：            210000.00",
     ["出入金 is 210000.00", "= 200000.00"]),
    ("|      287640.00|", "|      287460.00|", ["保证金占用 is 751468.00", "rows add up to 751288.00"]),
    ("|   -42600.00|      751468.00|", "|   -42600.00|      751288.00|",
     ["保证金占用 is 751468.00", "持仓汇总 保证金占用 = 751288.00"]),
], ids=["available", "commission", "risk_degree", "deposit", "position_row", "positions_total"])
def test_a_statement_that_does_not_add_up_is_refused_naming_the_figure(app, session, account, tmp_path,
                                                                       old, new, named):
    if "751288.00" in new:  # the row and the table's total agree, but not with 资金状况
        text = changed("|      287640.00|", "|      287460.00|").replace(old, new)
    else:
        text = changed(old, new)
    with pytest.raises(ImportFileError) as refused:
        run(session, copy(tmp_path, text))
    for part in named:
        assert part in str(refused.value), str(refused.value)
    assert str(refused.value).startswith("line ")
    session.rollback()
    assert count(session, MarginSnapshot) == 0 and count(session, Position) == 0


def test_an_unknown_client_id_is_refused(app, session, account, tmp_path):
    with pytest.raises(ImportFileError, match="line 5: 客户号: no account 90099999"):
        run(session, copy(tmp_path, changed("客户号 Client ID：  90012345", "客户号 Client ID：  90099999")))
    session.rollback()
    assert count(session, MarginSnapshot) == 0


def test_hedge_flags_and_exchanges_come_from_the_table(app, session, account, tmp_path):
    lines = TEXT.split("\r\n")
    lines[40] = lines[40].replace("|投          |", "|保          |")  # MA601
    run(session, copy(tmp_path, "\r\n".join(lines)))
    held = latest_positions(session=session, account_id=account)
    assert [p.hedge_flag.value for p in held] == ["hedge", "speculation", "speculation", "speculation"]

    text = changed("|i2601           |", "|zz2601          |")
    with pytest.raises(ImportFileError, match=r"line 40: 合约: no exchange is known for product zz \(zz2601\)"):
        run(session, copy(tmp_path, text))


def test_a_statement_cut_short_anywhere_is_refused_and_writes_nothing(app, session, account, tmp_path):
    data = SAMPLE.read_bytes()
    end = data.index("|共   3条|".encode("gbk"))  # cut anywhere before the positions' total line
    reasons = set()
    for cut in range(0, end, 97):  # odd steps also split GBK characters
        with pytest.raises(ImportFileError) as refused:
            path = tmp_path / "cut.txt"
            path.write_bytes(data[:cut])
            run(session, path)
        session.rollback()
        reasons.add(str(refused.value).split(":")[0])
    assert count(session, MarginSnapshot) == 0 and count(session, Position) == 0
    assert "持仓汇总 (line 34)" in reasons and "no 资金状况 block" in reasons


def test_the_command_imports_several_statements_and_reports_each_bad_one(cli, tmp_path):
    clients = tmp_path / "clients.csv"
    clients.write_text("name,account_no\n张三,90012345\n", encoding="utf-8")
    assert cli("import", "clients", str(clients)).returncode == 0
    unknown = copy(tmp_path, changed("客户号 Client ID：  90012345", "客户号 Client ID：  90099999"),
                   name="unknown.txt")
    cut = tmp_path / "cut.txt"
    data = SAMPLE.read_bytes()
    cut.write_bytes(data[:data.index("|共   3条|".encode("gbk"))])

    result = cli("import", "settlement", str(unknown), str(SAMPLE), str(cut))
    assert result.returncode == 1
    assert result.stdout == f"{SAMPLE.name}: 5 rows — 5 created, 0 updated, 0 unchanged, 0 skipped\n"
    assert result.stderr.splitlines()[:2] == [
        f"{unknown}: line 5: 客户号: no account 90099999; import it with the clients file first",
        f"{cut}: 持仓汇总 (line 34): the table has no total line (共 N条); the file looks cut short",
    ]
    assert result.stderr.splitlines()[-1] == "brokerbot: not imported: unknown.txt (refused), cut.txt (refused)"
    assert "Traceback" not in result.stderr

    result = cli("import", "settlement", str(cut), str(SAMPLE), "--skip-invalid")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{SAMPLE.name}: 5 rows — 0 created, 0 updated, 5 unchanged, 0 skipped\n"
    assert result.stderr.endswith("the file looks cut short (skipped)\n")


def test_after_a_statement_without_positions_the_client_holds_nothing(app, session, account):
    run(session, SAMPLE)
    report = run(session, FLAT)
    assert (report.rows, report.created, report.updated, report.removed) == (1, 1, 0, 0)  # the snapshot
    assert latest_positions(session=session, account_id=account) == []
    assert count(session, Position) == 4  # the day before stays as it was

    chat = TerminalSession("m1", Pipeline(app).handle, now=NOW, tz=app.db.tz)
    margin = chat.send("张三的保证金还够吗").text
    assert "保证金占用：0.00" in margin and "数据时间：2026-11-19 15:00" in margin, margin
    text = chat.send("张三的持仓").text
    assert "当前无持仓" in text and "数据时间：2026-11-19 15:00" in text, text
    assert "rb2601" not in text and "MA601" not in text
    assert "rb2601" not in chat.send("张三 rb 持仓").text

    again = run(session, FLAT)
    assert (again.created, again.updated, again.removed, again.unchanged) == (0, 0, 0, 1)
    # Re-sent, the day before is again the day before: the flat day stays the newest.
    run(session, SAMPLE)
    assert latest_positions(session=session, account_id=account) == []


def test_a_corrected_statement_with_positions_replaces_the_flat_report_of_its_day(app, session, account,
                                                                                  tmp_path):
    run(session, FLAT)
    assert latest_positions(session=session, account_id=account) == []
    corrected = copy(tmp_path, TEXT.replace("20261118", "20261119"))
    report = run(session, corrected)
    assert report.created == 4 and report.updated == 1  # four positions; the snapshot's figures
    held = latest_positions(session=session, account_id=account)
    assert len(held) == 4 and held[0].timestamp == datetime.fromisoformat("2026-11-19T15:00:00+08:00")
    run(session, FLAT)  # and back: the positions of that day are gone
    assert latest_positions(session=session, account_id=account) == []
    assert count(session, Position) == 0


def test_an_account_flattened_before_the_upgrade_shows_flat_after_it(app, session, account):
    # Before migration 0009 a statement without positions left no trace of the flat day; the
    # upgrade reads it from the day's snapshot (no margin, no position P/L).
    from alembic import command

    run(session, SAMPLE)
    run(session, FLAT)
    session.close()
    command.downgrade(app.db._alembic_config(), "0008")
    command.upgrade(app.db._alembic_config(), "head")
    assert latest_positions(session=session, account_id=account) == []
    run(session, SAMPLE)  # the day before, re-sent, is still the day before
    assert latest_positions(session=session, account_id=account) == []


def test_a_statement_dated_in_the_future_is_refused(app, session, account, tmp_path):
    # A statement is made after its day's close; one dated 2099 would stay the account's newest
    # figures for decades and hide every real statement after it (issue 12).
    with pytest.raises(ImportFileError, match=r"日期: 2099-11-18 is in the future \(now 20"):
        run(session, copy(tmp_path, TEXT.replace("日期 Date：20261118", "日期 Date：20991118")))
    session.rollback()
    assert count(session, MarginSnapshot) == 0 and count(session, Position) == 0
