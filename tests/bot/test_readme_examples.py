"""Every chat example of README.md answers on a freshly built demo, through the real pipeline, as
a newcomer would try it: the quick start's, then the table of "What the chat understands" in its
order, as the demo's first account manager after `brokerbot risk scan` (approval decisions as
that manager's supervisor, who is the approver)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.alerting import Alerting
from crm_core.risk.alerts import Alert
from crm_core.approvals import ApprovalRequest, ApprovalStatus
from crm_core.clients import Client, Lifecycle
from bot.demo.seed import seed_demo
from crm_core.interactions import Interaction
from crm_core.reminders import Reminder
from crm_core.staff import Staff
from tests.testbot import TestBot

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = datetime.fromisoformat("2026-11-18T10:30:00+08:00")  # a Wednesday morning, trading
QUICK_START = ["张三的保证金还够吗", "他的持仓呢", "张伟的保证金", "李四的保证金", "我的风险预警"]
# What a person types next to finish the exchange an example opens.
FOLLOW_UPS = {"张伟的保证金": ["1"], "王总资金呢": ["1"], "新客户王大锤，电话13800001111，对原油期权感兴趣，朋友介绍": ["确认"],
              "帮张三申请手续费优惠": ["1.2倍"], "request a margin adjustment for John Smith": ["15%"],
              "给张三加个标签重点客户": ["确认"], "把张三手机号改成13800138000": ["确认"], "撤销刚才的记录": ["确认"]}
# Nothing a README example may get back: not found, not understood, an internal error.
BAD = ("没有找到", "没太明白", "抱歉，处理时出了问题", "不是您权限范围内", "No client named", "didn't get that",
       "something went wrong", "not a client you may see", "No alert #", "No approval request")
MONEY = re.compile(r"\d{1,3}(,\d{3})*\.\d\d")
FIGURES = {"query_margin": ("客户权益", "Equity"), "query_positions": ("保证金", "Margin", "margin"),
           "client_profile": ("客户经理",)}


def table_examples() -> list[tuple[tuple[str, ...], str]]:
    """(the row's intents, example) for each `·`-separated example of the table, in order."""
    text = README.read_text(encoding="utf-8").split("### What the chat understands", 1)[1]
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    examples = []
    for line in lines[start + 2:]:  # after the header and its |---| line
        if not line.startswith("| "):
            break
        ask, cell = [c.strip() for c in line.strip().strip("|").split("|")][:2]
        intents = tuple(re.findall(r"`(\w+)`", ask)) or ("help",)
        examples += [(intents, example.strip()) for example in cell.split("·")]
    return examples


def approval_examples() -> list[str]:
    """The requests the Approvals section opens with: "A manager asks in chat — `...`, `...` — and"."""
    text = README.read_text(encoding="utf-8").split("## Approvals", 1)[1]
    return re.findall(r"`([^`]+)`", text.split("A manager asks in chat", 1)[1].split("— and", 1)[0])


def test_the_readme_lists_what_this_test_runs():
    quick = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{example}`" in quick for example in QUICK_START)
    examples = table_examples()
    assert len(examples) >= 30 and ("query_margin",) in [i for i, _ in examples]
    assert all(example and "`" not in example for _, example in examples)
    assert len(approval_examples()) == 4


@pytest.fixture
def demo_app(app):
    with app.db.transaction() as session:
        summary = seed_demo(session=session, now=NOW)
    Alerting(app).evaluate(now=NOW, actor="risk.scan")  # `brokerbot risk scan`, as the README says
    with app.db.session() as session:
        manager = session.scalar(select(Staff).where(Staff.login == summary.first_manager_login))
        return app, manager.login, manager.supervisor.login


def exchange(bot: TestBot, login: str, intents: tuple[str, ...], example: str) -> str:
    """`login` sends the example and what a person types next; each answer is one of the intents
    and no failure, and the last one of a question about a client shows its figures."""
    for text in [example, *FOLLOW_UPS.get(example, [])]:
        reply, taken = bot.ask(login, text), bot.intent
        where = f"{example!r} / {text!r} -> {taken}: {reply[:300]!r}"
        assert taken in intents, where
        assert not any(bad in reply for bad in BAD), where
    if taken in FIGURES:
        assert any(word in reply for word in FIGURES[taken]), where
    return reply


def test_every_readme_example_answers_on_the_demo(demo_app):
    app, login, supervisor = demo_app
    bot = TestBot(app, now=NOW)

    intents = {"张三的保证金还够吗": ("query_margin",), "他的持仓呢": ("query_positions",),
               "张伟的保证金": ("query_margin",), "李四的保证金": ("query_margin",), "我的风险预警": ("list_alerts",)}
    for example in QUICK_START:
        if example == "李四的保证金":  # another team's client: the intent, and no figure at all
            reply = bot.ask(login, example)
            assert bot.intent == "query_margin" and not MONEY.search(reply), reply
            continue
        exchange(bot, login, intents[example], example)

    for row, example in table_examples():
        decision = "decide_approval" in row and re.match(r"(同意|驳回|approve|reject)", example)
        exchange(bot, supervisor if decision else login, row, example)
    for example in approval_examples():
        exchange(bot, login, ("request_approval",), example)

    # The writes were made, not just answered.
    with app.db.session() as session:
        assert session.scalar(select(Client).where(Client.name == "王大锤")).lifecycle is Lifecycle.lead
        logged = {i.client.name for i in session.scalars(select(Interaction).where(Interaction.source_platform == "terminal"))}
        assert {"张三", "John Smith"} <= logged
        assert len(list(session.scalars(select(Reminder).where(Reminder.source_platform == "terminal")))) >= 2
        acked = [a for a in session.scalars(select(Alert)) if a.acknowledged_at is not None]
        assert len(acked) == 2
        assert all(session.get(Client, a.client_id).manager.login == login for a in acked)
        decided = {r.status for r in session.scalars(select(ApprovalRequest))}
        assert {ApprovalStatus.approved, ApprovalStatus.rejected, ApprovalStatus.pending} <= decided
