"""Recording suitability assessments from a score: `brokerbot import assessments` and the
record_result service behind it and behind the chat's record_assessment."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from crm_core.audit import AuditEntry
from crm_core.base import Source
from crm_core.clients import Client
from crm_core.importers import import_file
from crm_core.staff import Role
from crm_core.suitability import (SuitabilityAssessment, SuitabilityError, check_product, record_result)
from tests import factories as f

SH = timezone(timedelta(hours=8))


@pytest.fixture
def people(session):
    m1 = f.staff(session, "m1", "王经理", Role.manager, wecom_userid="wang")
    m2 = f.staff(session, "m2", "赵经理", Role.manager)
    clients = {
        "zhang": f.client(session, "张三", m1, ["90010001"]),
        "wei1": f.client(session, "张伟", m1, ["90010002"]),
        "wei2": f.client(session, "张伟", m2, ["90010003", "90010004"]),
        "li": f.client(session, "李四", m2, ["90010005"], risk_level="C2"),
    }
    session.commit()
    return m1, clients


def _csv(tmp_path, text: str, name: str = "assessments.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _assessments(session, client_id: int) -> list[SuitabilityAssessment]:
    return list(session.scalars(select(SuitabilityAssessment).where(SuitabilityAssessment.client_id == client_id)
                                .order_by(SuitabilityAssessment.assessed_at)))


def test_an_assessments_file_records_levels_and_unblocks_product_requests(app, session, people, tmp_path):
    _, c = people
    path = _csv(tmp_path, "client,date,score,level,valid_until\n"
                          "张三,2026-03-02,62,,\n"          # level from the score, validity from the yaml
                          "90010003,2025-06-30,85,C5,2027-01-31\n"  # the other 张伟, by account
                          "李四,2024-01-15,30,C2,\n")       # two years on: expired
    report = import_file(session=session, kind="assessments", path=path, suitability=app.suitability)
    session.commit()
    assert report.applied and not report.bad_rows
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    session.expire_all()

    zhang = session.get(Client, c["zhang"].id)
    [row] = _assessments(session, zhang.id)
    assert (zhang.risk_level, row.score, row.level) == ("C4", 62, "C4")
    assert row.assessed_at == datetime(2026, 3, 2, tzinfo=SH)
    assert row.expires_at == datetime(2028, 3, 3, tzinfo=SH)  # valid through 2028-03-02
    assert (row.source_platform, row.source_text) == ("import", "assessments.csv:2")
    assert session.get(Client, c["wei2"].id).risk_level == "C5"
    assert _assessments(session, c["wei1"].id) == []

    now = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
    rules = app.suitability
    assert check_product(session=session, client=zhang, product="原油", now=now, rules=rules).allowed
    assert check_product(session=session, client=session.get(Client, c["wei2"].id), product="sc",
                         now=datetime(2027, 1, 31, 23, 0, tzinfo=SH), rules=rules).allowed
    assert not check_product(session=session, client=session.get(Client, c["wei2"].id), product="sc",
                             now=datetime(2027, 2, 1, 0, 0, tzinfo=SH), rules=rules).allowed
    expired = check_product(session=session, client=session.get(Client, c["li"].id), product="rb2605",
                            now=now, rules=rules)
    assert not expired.allowed and expired.reason == "suitability_expired"
    assert app.messages.t(expired.reason, "zh", **expired.params) == \
        "不能开通：李四 的适当性评估（C2）已于 2026-01-16 过期，请重新测评。"

    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["suitability.assess"] * 3 + ["import.assessments"]
    assert entries[0].details["score"] == 62 and entries[0].details["source"]["text"] == "assessments.csv:2"

    # The same file again writes nothing; a corrected row updates that assessment only.
    again = import_file(session=session, kind="assessments", path=path, suitability=app.suitability)
    session.commit()
    assert (again.created, again.updated, again.unchanged, again.changed) == (0, 0, 3, False)
    fixed = _csv(tmp_path, "client,date,score\n张三,2026-03-02,45\n", "fixed.csv")
    report = import_file(session=session, kind="assessments", path=fixed, suitability=app.suitability)
    session.commit()
    session.expire_all()
    assert (report.created, report.updated) == (0, 1)
    [row] = _assessments(session, c["zhang"].id)
    assert (row.score, row.level, session.get(Client, c["zhang"].id).risk_level) == (45, "C3", "C3")
    corrected = session.scalars(select(AuditEntry).where(AuditEntry.action == "suitability.correct")).one()
    assert corrected.details["before"]["score"] == 62


def test_bad_rows_are_named_by_line_and_nothing_is_imported_without_skip_invalid(app, session, people, tmp_path):
    _, c = people
    path = _csv(tmp_path, "client,date,score,level,valid_until\n"
                          "张伟,2026-03-02,62,,\n"
                          "张三,2026-03-02,62,C5,\n"
                          "张三,2026-03-03,101,,\n"
                          "王小明,2026-03-02,40,,\n"
                          "张三,2099-01-01,40,,\n"
                          "张三,2026-03-05,40,,2026-03-01\n"
                          "张三,2026-03-06,七十,,\n"
                          "李四,2026-04-01,70,c4,\n"
                          "90010005,2026-04-01,70,,\n")
    report = import_file(session=session, kind="assessments", path=path, suitability=app.suitability)
    assert not report.applied
    assert [(b.line, b.reason) for b in report.bad_rows] == [
        (2, "client: 2 clients are named 张伟 (accounts 90010002, 90010003/90010004); give the account number"),
        (3, "level: C5 contradicts score 62, which suitability.yaml bands as C4"),
        (4, "score: 101 is not between 0 and 100"),
        (5, "client: no client named 王小明 and no account 王小明"),
        (6, "date: 2099-01-01 is in the future"),
        (7, "valid_until: 2026-03-01 is before the assessment's date 2026-03-05"),
        (8, "score: 七十 is not a number"),
        (10, "an assessment of 90010005 on 2026-04-01 is a duplicate of line 9"),
    ]
    session.rollback()
    assert session.scalars(select(SuitabilityAssessment)).all() == []

    report = import_file(session=session, kind="assessments", path=path, skip_invalid=True,
                         suitability=app.suitability)
    session.commit()
    assert (report.created, report.skipped) == (1, 8)
    session.expire_all()
    assert session.get(Client, c["li"].id).risk_level == "C4"


def test_an_xlsx_file_with_dates_and_numbers_as_excel_stores_them(app, session, people, tmp_path):
    _, c = people
    book = Workbook()
    sheet = book.active
    sheet.append(["client", "date", "score", "level", "valid_until"])
    sheet.append([90010001, datetime(2026, 5, 20), 70.0, "C4", None])
    path = tmp_path / "assessments.xlsx"
    book.save(path)
    report = import_file(session=session, kind="assessments", path=path)  # the packaged suitability.yaml
    session.commit()
    assert report.created == 1, report.bad_rows
    [row] = _assessments(session, c["zhang"].id)
    assert (row.score, row.level, row.expires_at) == (70, "C4", datetime(2028, 5, 21, tzinfo=SH))


def test_record_result_checks_the_score_against_the_level_and_audits(app, session, people):
    m1, c = people
    zhang = c["zhang"]
    at = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
    with pytest.raises(SuitabilityError) as bad:
        record_result(session=session, actor=m1, client=zhang, points=62, level="C2", assessed_at=at,
                      rules=app.suitability)
    assert bad.value.key == "suitability_level_mismatch" and bad.value.params["expected"] == "C4"
    with pytest.raises(SuitabilityError, match="suitability_score_invalid"):
        record_result(session=session, actor=m1, client=zhang, points=-1, level=None, assessed_at=at,
                      rules=app.suitability)
    source = Source(platform="wecom", message_id="m-1", user="wang", text="张三的风险测评62分")
    row = record_result(session=session, actor=m1, client=zhang, points=62, level=None, assessed_at=at,
                        rules=app.suitability, source=source)
    # An older assessment recorded later does not change the client's level.
    record_result(session=session, actor=m1, client=zhang, points=10, level="C1", assessed_at=at - timedelta(days=30),
                  rules=app.suitability)
    session.commit()
    session.expire_all()
    assert session.get(Client, zhang.id).risk_level == "C4"
    assert (row.level, row.recorded_by_id, row.source_text) == ("C4", m1.id, "张三的风险测评62分")
    assert row.expires_at == datetime(2028, 11, 19, tzinfo=SH)
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
    assert (entry.actor, entry.action, entry.details["level"], entry.details["previous_level"]) == \
        ("m1", "suitability.assess", "C4", None)


def test_import_assessments_command(cli, tmp_path):
    data = Path(__file__).parents[1] / "data"
    assert cli("import", "staff", str(data / "staff.csv")).returncode == 0
    assert cli("import", "clients", str(data / "clients.csv")).returncode == 0
    path = _csv(tmp_path, "client,date,score,level,valid_until\n"
                          "张三,2026-03-02,62,,\n"
                          "90001003,2026-01-05,40,C5,\n")
    result = cli("import", "assessments", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:3: level: C5 contradicts score 40, which suitability.yaml bands as C3",
        "assessments.csv: 1 bad row(s) of 2; nothing imported "
        "(fix them, or pass --skip-invalid to import the good rows)",
        "brokerbot: not imported: assessments.csv (1 bad rows)",
    ]
    result = cli("import", "assessments", str(path), "--skip-invalid")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "assessments.csv: 2 rows — 1 created, 0 updated, 0 unchanged, 1 skipped\n"
    path.write_text("client,date,score\n张三,2026-03-02,62\n90001003,2026-01-05,40\n", encoding="utf-8")
    result = cli("import", "assessments", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "assessments.csv: 2 rows — 1 created, 0 updated, 1 unchanged, 0 skipped\n"
    # The chat now sends 张三's commodity futures request to approval instead of asking for an assessment.
    chat = cli("chat", "--as", "wangfang", "--now", "2026-11-18T10:00:00+08:00", input="申请给张三开通rb2605权限\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.startswith("已提交审批 #1：张三 权限开通"), chat.stdout
    assert "张三 的适当性等级为 C4，rb2605 的风险等级为 R3：匹配。" in chat.stdout
