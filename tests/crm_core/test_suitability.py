"""Suitability: questionnaire bands, product levels, the client/product match with special risk
warnings, the lowest category, expiry, and the manager's re-assessment reminder."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crm_core import config_files
from crm_core.audit import AuditEntry
from crm_core.clients import Client
from crm_core.outbox import OutboxMessage
from crm_core.reminders import Reminder
from crm_core.staff import Role
from crm_core.suitability import (SuitabilityError, SuitabilityRules, check_product, expiring,
                                  queue_expiry_reminders, record_assessment, record_special_warning, score)
from notifiers.reminders import queue_due_reminders
from tests import factories as f

SH = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
DEFAULT = config_files.default_dir() / "suitability.yaml"

# Answers to the default questionnaire and the level they total to.
C1_ANSWERS = {q: "A" for q in ("age", "income", "assets", "investable_share", "experience_years",
                               "derivatives_experience", "knowledge", "loss_tolerance", "goal", "after_a_fall")}
C3_ANSWERS = {"age": "B", "income": "B", "assets": "B", "investable_share": "B", "experience_years": "C",
              "derivatives_experience": "B", "knowledge": "B", "loss_tolerance": "C", "goal": "B",
              "after_a_fall": "B"}  # 10+4+4+6+6+4+3+6+3+4 = 50
C4_ANSWERS = {q: "C" for q in C1_ANSWERS}  # 6+7+7+10+6+7+7+6+7+7 = 70


@pytest.fixture
def rules() -> SuitabilityRules:
    return config_files.validated("suitability.yaml", None, SuitabilityRules)


@pytest.fixture
def low_risk_rules(tmp_path) -> SuitabilityRules:
    """The defaults plus R1 and R2 categories, through an override file."""
    text = DEFAULT.read_text(encoding="utf-8") + (
        "  cash_fund:\n    level: R1\n    label: {zh: 货币基金, en: money market fund}\n"
        "  bond_fund:\n    level: R2\n    label: {zh: 债券基金, en: bond fund}\n")
    (tmp_path / "suitability.yaml").write_text(text, encoding="utf-8")
    return config_files.validated("suitability.yaml", tmp_path, SuitabilityRules)


@pytest.fixture
def people(session):
    m1 = f.staff(session, "m1", "王经理", Role.manager, wecom_userid="wang")
    zhang = f.client(session, "张三", m1, ["90010001"])
    session.commit()
    return m1, zhang


def say(app, check, lang="zh") -> str:
    return app.messages.t(check.reason, lang, **check.params)


def test_scoring_bands_map_answers_to_levels(rules, tmp_path):
    assert (score(C1_ANSWERS, rules).points, score(C1_ANSWERS, rules).level) == (8, "C1")
    assert score(C3_ANSWERS, rules).level == "C3"
    assert score(C4_ANSWERS, rules).level == "C4"
    best = {"age": "B", **{q: "D" for q in C1_ANSWERS if q not in ("age", "investable_share", "loss_tolerance")},
            "investable_share": "C", "loss_tolerance": "E"}
    assert (score(best, rules).points, score(best, rules).level) == (100, "C5")
    # A band starts at its number: 19 points is C1, 20 is C2 (edited bands in an override file).
    (tmp_path / "suitability.yaml").write_text(
        "questionnaire:\n  q1: {A: 0, B: 19, C: 20}\n  q2: {A: 0, B: 1, C: 3}\n"
        "bands: {C1: 0, C2: 20, C3: 21, C4: 22, C5: 23}\n"
        "products:\n  futures: {level: R3, label: {zh: 期货}, other_futures: true}\n"
        "  options: {level: R4, label: {zh: 期权}, all_options: true}\n", encoding="utf-8")
    edited = config_files.validated("suitability.yaml", tmp_path, SuitabilityRules)
    assert score({"q1": "B", "q2": "A"}, edited).level == "C1"
    assert score({"q1": "c", "q2": "a"}, edited).level == "C2"
    assert score({"q1": "C", "q2": "B"}, edited).level == "C3"
    assert score({"q1": "C", "q2": "C"}, edited).level == "C5"
    with pytest.raises(SuitabilityError) as missing:
        score({"q1": "A"}, edited)
    assert (missing.value.key, missing.value.params) == ("suitability_answers_incomplete", {"questions": "q2"})
    with pytest.raises(SuitabilityError) as bad:
        score({"q1": "D", "q2": "A"}, edited)
    assert bad.value.params == {"question": "q1", "answer": "D"}


@pytest.mark.parametrize("asked, category, level", [
    ("sc", "crude_oil", "R4"), ("SC2606", "crude_oil", "R4"), ("原油", "crude_oil", "R4"),
    ("IF", "financial_futures", "R4"), ("if2612", "financial_futures", "R4"), ("T2603", "financial_futures", "R4"),
    ("m2601-C-3000", "options", "R4"), ("SR601C5000", "options", "R4"), ("IO2601-P-3800", "options", "R4"),
    ("期权", "options", "R4"), ("rb2605", "commodity_futures", "R3"), ("m", "commodity_futures", "R3"),
    ("商品期货", "commodity_futures", "R3"),
])
def test_products_and_contracts_map_to_categories(rules, asked, category, level):
    found = rules.product(asked)
    assert (found.category, found.level) == (category, level)


def test_unknown_product_is_not_guessed(rules):
    assert rules.product("比特币") is None and rules.product("510050C2603M02800") is None


def test_c3_is_blocked_from_crude_oil_until_a_special_warning_is_signed(app, session, people, rules):
    m1, zhang = people
    record_assessment(session=session, actor=m1, client=zhang, answers=C3_ANSWERS, rules=rules,
                      assessed_at=NOW - timedelta(days=100))
    session.commit()
    session.expire_all()
    assert session.get(Client, zhang.id).risk_level == "C3"

    check = check_product(session=session, client=zhang, product="原油", now=NOW, rules=rules)
    assert not check.allowed and check.needs_warning
    assert (check.client_level, check.product_level) == ("C3", "R4")
    assert say(app, check) == ("不能开通：张三 的适当性等级 C3 低于 原油 的风险等级 R4。"
                               "须客户签署特别风险警示书并录入后才能申请。")
    assert "C3" in say(app, check, "en") and "R4" in say(app, check, "en")
    # The same category by contract code.
    assert check_product(session=session, client=zhang, product="sc2606", now=NOW, rules=rules).needs_warning

    # A warning for another category does not help.
    record_special_warning(session=session, actor=m1, client=zhang, product="期权", rules=rules,
                           signed_at=NOW - timedelta(days=2), evidence="风险警示书 2026-0417（期权）")
    assert not check_product(session=session, client=zhang, product="原油", now=NOW, rules=rules).allowed

    record_special_warning(session=session, actor=m1, client=zhang, product="sc", rules=rules,
                           signed_at=NOW - timedelta(days=1), evidence="风险警示书 2026-0418，档案柜 B3")
    session.commit()
    check = check_product(session=session, client=zhang, product="原油", now=NOW, rules=rules)
    assert check.allowed and not check.needs_warning and check.warning_id is not None
    assert "2026-11-17" in say(app, check) and "特别风险警示书" in say(app, check)

    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["suitability.assess", "suitability.special_warning", "suitability.special_warning"]


def test_a_warning_signed_before_the_current_assessment_does_not_count(session, people, rules):
    m1, zhang = people
    record_assessment(session=session, actor=m1, client=zhang, answers=C4_ANSWERS, rules=rules,
                      assessed_at=NOW - timedelta(days=400))
    record_special_warning(session=session, actor=m1, client=zhang, product="原油", rules=rules,
                           signed_at=NOW - timedelta(days=300), evidence="警示书 2025-031")
    record_assessment(session=session, actor=m1, client=zhang, answers=C3_ANSWERS, rules=rules,
                      assessed_at=NOW - timedelta(days=10))
    check = check_product(session=session, client=zhang, product="原油", now=NOW, rules=rules)
    assert not check.allowed and check.reason == "suitability_above_level"


def test_lowest_category_is_blocked_above_its_level_even_with_a_warning(app, session, people, low_risk_rules):
    m1, zhang = people
    record_assessment(session=session, actor=m1, client=zhang, answers=C1_ANSWERS, rules=low_risk_rules,
                      assessed_at=NOW - timedelta(days=30))
    record_special_warning(session=session, actor=m1, client=zhang, product="债券基金", rules=low_risk_rules,
                           signed_at=NOW - timedelta(days=1), evidence="警示书 2026-0501")
    check = check_product(session=session, client=zhang, product="bond_fund", now=NOW, rules=low_risk_rules)
    assert not check.allowed and not check.needs_warning
    assert (check.client_level, check.product_level) == ("C1", "R2")
    assert "最低类别" in say(app, check) and "lowest category" in say(app, check, "en")
    assert check_product(session=session, client=zhang, product="货币基金", now=NOW, rules=low_risk_rules).allowed


def test_c4_may_have_crude_oil(app, session, people, rules):
    m1, zhang = people
    record_assessment(session=session, actor=m1, client=zhang, answers=C4_ANSWERS, rules=rules,
                      assessed_at=NOW - timedelta(days=1))
    check = check_product(session=session, client=zhang, product="crude oil", now=NOW, rules=rules)
    assert check.allowed and check.reason == "suitability_ok" and check.warning_id is None
    assert say(app, check, "en") == "张三 is C4 and crude oil is R4: suitable."


def test_expired_or_missing_assessments_block(app, session, people, rules):
    m1, zhang = people
    li = f.client(session, "李四", m1, ["90010002"], risk_level="C4")  # imported level, no assessment
    check = check_product(session=session, client=li, product="rb2605", now=NOW, rules=rules)
    assert not check.allowed and "C4" in say(app, check) and "来自导入" in say(app, check)
    li.risk_level = None
    check = check_product(session=session, client=li, product="rb2605", now=NOW, rules=rules)
    assert not check.allowed and check.reason == "suitability_no_assessment"

    # Assessed 2024-01-10 (Shanghai); valid 24 months, so it ended on 2026-01-10.
    record_assessment(session=session, actor=m1, client=zhang, answers=C4_ANSWERS, rules=rules,
                      assessed_at=datetime(2024, 1, 10, 9, 30, tzinfo=SH))
    assert check_product(session=session, client=zhang, product="rb2605",
                         now=datetime(2026, 1, 10, 9, 0, tzinfo=SH), rules=rules).allowed
    check = check_product(session=session, client=zhang, product="rb2605", now=NOW, rules=rules)
    assert not check.allowed and check.client_level == "C4"
    assert say(app, check) == "不能开通：张三 的适当性评估（C4）已于 2026-01-10 过期，请重新测评。"


def test_bad_suitability_yaml_names_file_line_and_reason(tmp_path):
    text = DEFAULT.read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "level: R4") + 1
    bad = text.replace("level: R4", "level: R6", 1)
    (tmp_path / "suitability.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(config_files.ConfigFileError) as exc:
        config_files.validated("suitability.yaml", tmp_path, SuitabilityRules)
    message = str(exc.value)
    assert message.startswith(f"{tmp_path / 'suitability.yaml'} line {at}: products.financial_futures.level:")
    assert "R5" in message

    bands_at = next(i for i, line in enumerate(lines) if line.startswith("bands:")) + 1
    (tmp_path / "suitability.yaml").write_text(text.replace("C4: 54", "C4: 30"), encoding="utf-8")
    with pytest.raises(config_files.ConfigFileError, match=rf"line {bands_at}: bands: .*rise from C1 to C5"):
        config_files.validated("suitability.yaml", tmp_path, SuitabilityRules)

    (tmp_path / "suitability.yaml").write_text(text.replace("codes: [sc]", "codes: [sc, IF]"), encoding="utf-8")
    with pytest.raises(config_files.ConfigFileError, match="'IF' is in both financial_futures and crude_oil"):
        config_files.validated("suitability.yaml", tmp_path, SuitabilityRules)


def test_expiry_reminder_reaches_the_manager_once(app, session, people, rules):
    m1, zhang = people
    other = f.staff(session, "m2", "赵经理", Role.manager)
    li = f.client(session, "李四", other, ["90010002"])
    wu = f.client(session, "吴六", other, ["90010003"])
    # 张三's assessment ends 2026-12-01, within the 30 days' notice; 李四's ends in 2027.
    record_assessment(session=session, actor=m1, client=zhang, answers=C3_ANSWERS, rules=rules,
                      assessed_at=datetime(2024, 12, 1, 15, 0, tzinfo=SH))
    record_assessment(session=session, actor=other, client=li, answers=C3_ANSWERS, rules=rules,
                      assessed_at=datetime(2025, 6, 1, 15, 0, tzinfo=SH))
    # 吴六's old assessment is ending, but a newer one replaced it.
    record_assessment(session=session, actor=other, client=wu, answers=C1_ANSWERS, rules=rules,
                      assessed_at=datetime(2024, 11, 20, 9, 0, tzinfo=SH))
    record_assessment(session=session, actor=other, client=wu, answers=C3_ANSWERS, rules=rules,
                      assessed_at=datetime(2026, 11, 1, 9, 0, tzinfo=SH))
    session.commit()

    assert [a.client.name for a in expiring(session=session, now=NOW, within=timedelta(days=30))] == ["张三"]
    queued = queue_expiry_reminders(session=session, now=NOW, rules=rules, text=app.messages.t)
    session.commit()
    assert queue_expiry_reminders(session=session, now=NOW + timedelta(days=1), rules=rules, text=app.messages.t) == []
    session.commit()
    reminders = session.scalars(select(Reminder)).all()
    assert [(r.staff_id, r.client_id) for r in reminders] == [(m1.id, zhang.id)] and queued[0].id == reminders[0].id
    assert reminders[0].content == "张三 的适当性评估（C3）有效期至 2026-12-01，请安排重新测评。"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reminder.create")).one()
    assert entry.actor == "system" and entry.details["staff"] == "m1"

    # The service's reminder job then delivers it to the manager's direct messages.
    queue_due_reminders(session=session, now=NOW + timedelta(minutes=1),
                        address=lambda staff: ("wecom", staff.wecom_userid, None),
                        text=lambda r: app.messages.t("reminder_due", content=r.content))
    session.commit()
    sent = session.scalars(select(OutboxMessage)).one()
    assert sent.target == "wang" and "张三 的适当性评估（C3）有效期至 2026-12-01" in str(sent.body)

