"""Approvals in the chat thread, as the people involved see them: a manager asks, the routed
approver gets a card with the client and the figure and two buttons, nobody else can decide it
(not another manager, not the requester), a decision is taken once however often it arrives, the
requester hears of each decision once, the last approval changes the client's record, suitability
blocks a product above the client's level until a special warning is recorded, overdue steps
remind and then escalate once, a delegate decides while the delegation lasts, and a bad
approval_flows.yaml stops start-up. Through the real pipeline, outbox and a fake WeCom."""
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from crm_core import config_files
from bot.app import App
from bot.approvals import remind_overdue
from crm_core.config_files import ConfigFileError
from bot.service import Service
from crm_core.approvals.outcomes import permissions_of, terms_of
from crm_core.approvals import ApprovalDecision, ApprovalRequest, ApprovalStatus
from crm_core.audit import AuditEntry
from crm_core.clients import Client
from crm_core.interactions import Channel, log_interaction
from crm_core.outbox import OutboxMessage
from crm_core.staff import Role, Staff, get_staff
from crm_core.suitability import record_assessment, record_special_warning
from tests import factories as f
from tests.fakes.wecom_crypto import CallbackClient, parse_xml
from tests.fakes.wecom_server import FakeWeCom
from tests.running import running
from tests.testbot import TestBot
from tests.crm_core.test_suitability import C3_ANSWERS

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
USERS = {"wangfang", "liuyang", "zhousup", "qianfu", "chenhead", "lijun", "sunhe", "chenrisk"}
TOKEN, AES_KEY = "brokerbotToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DEFAULT_FLOWS = (config_files.default_dir() / "approval_flows.yaml").read_text(encoding="utf-8")


@pytest.fixture
def wecom():
    with FakeWeCom(users=USERS) as fake:
        yield fake


def build(settings, tmp_path, wecom, flows: str | None = None) -> Service:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    if flows is not None:
        (config / "approval_flows.yaml").write_text(flows, encoding="utf-8")
    s = settings.model_copy(update=dict(
        config_dir=config, wecom_corp_id=wecom.corp_id, wecom_secret=wecom.secret,
        wecom_agent_id=str(wecom.agent_id), wecom_api_base=wecom.base_url, wecom_token=TOKEN,
        wecom_aes_key=AES_KEY))
    svc = Service(App(s))
    with svc.app.db.transaction() as session:
        one, two = f.team(session, "一组"), f.team(session, "二组")
        head = f.staff(session, "chenhead", "陈总", Role.supervisor, one, wecom_userid="chenhead")
        sup = f.staff(session, "zhousup", "周主管", Role.supervisor, one, head, wecom_userid="zhousup")
        f.staff(session, "qianfu", "钱副", Role.supervisor, one, head, wecom_userid="qianfu")
        wang = f.staff(session, "wangfang", "王芳", Role.manager, one, sup, wecom_userid="wangfang")
        f.staff(session, "liuyang", "刘洋", Role.manager, one, sup, wecom_userid="liuyang")
        f.staff(session, "lijun", "李军", Role.manager, two, wecom_userid="lijun")
        f.staff(session, "sunhe", "孙合规", Role.compliance, wecom_userid="sunhe")
        f.staff(session, "chenrisk", "陈风控", Role.risk, wecom_userid="chenrisk")
        zhang = f.client(session, "张三", wang, accounts=["A-100"], risk_level="C3")
        f.snapshot(session, "A-100", T0 - timedelta(hours=1), "1250000.00", "500000.00")
        log_interaction(session=session, actor=wang, client=zhang, channel=Channel.visit,
                        occurred_at=T0 - timedelta(days=1), summary="聊了套保方案")
    return svc


@pytest.fixture
def service(settings, tmp_path, wecom):
    svc = build(settings, tmp_path, wecom)
    yield svc
    svc.stop()


@pytest.fixture
def bot(service) -> TestBot:
    """The people of `build` writing to the bot on WeCom, from 10:00 on."""
    return TestBot(service.app, now=T0, platform="wecom", pipeline=service.pipeline)


def outbox(svc, **where):
    with svc.app.db.session() as session:
        query = select(OutboxMessage).where(OutboxMessage.purpose == "approval").order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list(session.scalars(query))


def requests(svc):
    with svc.app.db.session() as session:
        return list(session.scalars(select(ApprovalRequest).order_by(ApprovalRequest.id)))


def audited(svc, action):
    with svc.app.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def assess_c3(svc, at=T0 - timedelta(days=30)):
    with svc.app.db.transaction() as session:
        zhang = session.scalar(select(Client).where(Client.name == "张三"))
        record_assessment(session=session, actor=get_staff(session=session, login="wangfang"), client=zhang,
                          answers=C3_ANSWERS, rules=svc.app.suitability, assessed_at=at)


def approve_to_the_end(svc, bot, request_id, at=T0):
    """Each routed approver in turn says 同意; returns who decided."""
    deciders = []
    for _ in range(5):
        [request] = [r for r in requests(svc) if r.id == request_id]
        if request.status != ApprovalStatus.pending:
            return deciders
        with svc.app.db.session() as session:
            login = session.get(Staff, request.approver_id).login
        bot.ask(login, f"同意 #{request_id}", at=at)
        deciders.append(login)
    raise AssertionError("the request never ended")


def test_a_commission_discount_goes_to_the_supervisor_who_alone_decides_it_once(service, wecom, bot):
    created = bot.ask("wangfang", "帮张三申请手续费优惠，按交易所1.2倍")
    [request] = requests(service)
    assert f"#{request.id}" in created and "1.2 倍" in created and "周主管" in created
    [card] = outbox(service, target="zhousup")
    text = card.body["title"] + "\n" + card.body["text"]
    for shown in ("张三", "C3", "1.2 倍", "王芳", "1,250,000.00", "2026-11-18 09:00", "聊了套保方案",
                  f"同意 #{request.id}", f"驳回 #{request.id} 理由"):
        assert shown in text
    assert [(c["label"], c["value"]) for c in card.body["choices"]] == [
        ("同意", f"同意 #{request.id}"), ("驳回", f"驳回 #{request.id}")]
    service.dispatcher.run_once(now=T0)
    [sent] = [m["template_card"] for m in wecom.received("zhousup")]
    assert [b["key"] for b in sent["button_list"]] == [f"同意 #{request.id}", f"驳回 #{request.id}"]

    assert "没有找到" in bot.ask("lijun", f"同意 #{request.id}")  # another team's manager
    assert "不能审批自己" in bot.ask("wangfang", f"同意 #{request.id}")
    assert "不由您审批" in bot.ask("sunhe", f"同意 #{request.id}")  # sees the client, not routed to her
    refusals = audited(service, "approval.decide_refused")
    assert [(a.actor, a.details["reason"]) for a in refusals] == [
        ("lijun", "not_the_approver"), ("wangfang", "self_approval"), ("sunhe", "not_the_approver")]
    assert requests(service)[0].status == ApprovalStatus.pending and terms_of_zhang(service) is None

    later = T0 + timedelta(minutes=5)
    answers = [bot.ask("zhousup", f"同意 #{request.id}", at=later, message_id=f"click-{n}") for n in range(3)]
    assert "已生效" in answers[0]
    assert all("已由 周主管 于 2026-11-18 10:05 同意" in a for a in answers[1:])
    assert requests(service)[0].status == ApprovalStatus.approved
    assert terms_of_zhang(service).commission_multiple == Decimal("1.2")
    [told] = outbox(service, target="wangfang")
    assert "已由 周主管 批准" in told.body["text"] and "1.2 倍" in told.body["text"]
    assert len(audited(service, "approval.approve")) == 1 and len(audited(service, "approval.apply")) == 1


def terms_of_zhang(svc):
    with svc.app.db.session() as session:
        zhang = session.scalar(select(Client).where(Client.name == "张三"))
        return terms_of(session=session, client_id=zhang.id)


def test_a_rejection_tells_the_requester_the_reason_and_changes_nothing(service, bot):
    bot.ask("wangfang", "帮张三申请手续费优惠 1.3倍")
    [request] = requests(service)
    assert "已驳回" in bot.ask("zhousup", f"驳回 #{request.id} 客户交易量不够")
    [told] = outbox(service, target="wangfang")
    assert "被 周主管 驳回：客户交易量不够" in told.body["text"]
    assert "已由 周主管 于 2026-11-18 10:00 驳回" in bot.ask("zhousup", f"同意 #{request.id}", message_id="late")
    assert requests(service)[0].status == ApprovalStatus.rejected and terms_of_zhang(service) is None


def test_a_discount_close_to_the_exchange_fee_also_needs_compliance(service, bot):
    assert "共 2 步" in bot.ask("wangfang", "帮张三申请手续费优惠，按交易所1.05倍")
    [request] = requests(service)
    assert "转 孙合规 继续审批" in bot.ask("zhousup", f"同意 #{request.id}")
    assert terms_of_zhang(service) is None  # not before the last step
    [card] = outbox(service, target="sunhe")
    assert "1.05 倍" in card.body["text"] and "第 2/2 步" in card.body["text"]
    assert "已由 周主管" in bot.ask("zhousup", f"同意 #{request.id}", message_id="again")  # his step is done
    assert "已生效" in bot.ask("sunhe", f"同意 #{request.id}")
    assert terms_of_zhang(service).commission_multiple == Decimal("1.05")
    notices = [m.body["text"] for m in outbox(service, target="wangfang")]
    assert len(notices) == 2 and "转 孙合规" in notices[0] and "孙合规 批准" in notices[1]


def test_a_c3_clients_crude_oil_permission_is_blocked_until_a_special_warning_is_recorded(service, bot):
    assess_c3(service)
    blocked = bot.ask("wangfang", "帮张三申请开通原油权限")
    assert "不能开通" in blocked and "C3" in blocked and "R4" in blocked and "特别风险警示书" in blocked
    assert requests(service) == [] and outbox(service) == []
    [record] = audited(service, "approval.request_blocked")
    assert record.details["reason"] == "suitability_above_level"

    with service.app.db.transaction() as session:
        zhang = session.scalar(select(Client).where(Client.name == "张三"))
        record_special_warning(session=session, actor=get_staff(session=session, login="wangfang"), client=zhang,
                               product="原油", signed_at=T0 - timedelta(days=1), evidence="档案柜 B-118",
                               rules=service.app.suitability)
    created = bot.ask("wangfang", "帮张三申请开通原油权限", message_id="again")
    assert "已提交审批" in created and "已于 2026-11-17 签署特别风险警示书" in created
    [request] = requests(service)
    [card] = outbox(service, target="zhousup")
    assert "原油（R4）" in card.body["text"] and "特别风险警示书" in card.body["text"]
    assert approve_to_the_end(service, bot, request.id) == ["zhousup", "sunhe"]  # R4 also goes to compliance
    with service.app.db.session() as session:
        assert permissions_of(session=session, client_id=request.client_id) == ["crude_oil"]


@pytest.mark.parametrize("asked, question, answer, check", [
    ("帮张三申请手续费优惠", "几倍", "1.2倍",
     lambda s, c: terms_of(session=s, client_id=c.id).commission_multiple == Decimal("1.2")),
    ("帮张三申请开通权限", "哪个品种", "rb2605",
     lambda s, c: permissions_of(session=s, client_id=c.id) == ["commodity_futures"]),
    ("申请把张三转给别的客户经理", "转给哪位", "刘洋",
     lambda s, c: c.manager.login == "liuyang"),
    ("帮张三申请保证金调整", "调整为多少", "15%",
     lambda s, c: terms_of(session=s, client_id=c.id).margin_ratio == Decimal("0.15")),
], ids=["commission", "permission", "transfer", "margin"])
def test_a_request_asks_for_its_figure_and_the_last_approval_applies_it(service, asked, question, answer, check, bot):
    assess_c3(service)
    assert question in bot.ask("wangfang", asked)
    assert requests(service) == []
    assert "已提交审批" in bot.ask("wangfang", answer)
    [request] = requests(service)
    approve_to_the_end(service, bot, request.id)
    with service.app.db.session() as session:
        assert check(session, session.get(Client, request.client_id))


def test_a_question_can_be_declined_and_a_figure_below_the_exchange_fee_is_asked_again(service, bot):
    bot.ask("wangfang", "帮张三申请手续费优惠")
    assert "已取消" in bot.ask("wangfang", "取消")
    assert "没太明白" in bot.ask("wangfang", "1.2倍", message_id="after-cancel")  # nothing was waiting for it
    bot.ask("wangfang", "帮张三申请手续费优惠", message_id="again")
    assert "不能低于交易所标准" in bot.ask("wangfang", "0.9倍")
    assert "1.3 倍" in bot.ask("wangfang", "1.3倍")
    assert [r.details["fee_multiple"] for r in requests(service)] == ["1.3"]


def test_an_overdue_step_reminds_then_escalates_once_and_the_escalation_may_decide(service, bot):
    bot.ask("wangfang", "帮张三申请手续费优惠 1.2倍")
    [request] = requests(service)
    assert remind_overdue(service.app, now=T0 + timedelta(minutes=119)) == 0
    assert remind_overdue(service.app, now=T0 + timedelta(minutes=121)) == 1  # commission: remind after 2h
    assert remind_overdue(service.app, now=T0 + timedelta(minutes=180)) == 0
    reminders = [m for m in outbox(service, target="zhousup") if "催办" in m.body["title"]]
    assert len(reminders) == 1 and "已等待 2 小时" in reminders[0].body["title"]
    assert outbox(service, target="chenhead") == []
    assert remind_overdue(service.app, now=T0 + timedelta(minutes=241)) == 1  # escalate after 4h
    assert remind_overdue(service.app, now=T0 + timedelta(hours=6)) == 0
    [escalation] = outbox(service, target="chenhead")
    assert "超时升级" in escalation.body["title"] and "周主管" in escalation.body["title"]
    assert [c["value"] for c in escalation.body["choices"]] == [f"同意 #{request.id}", f"驳回 #{request.id}"]
    assert [a.details["to"] for a in audited(service, "approval.escalate")] == ["chenhead"]

    assert "已生效" in bot.ask("chenhead", f"同意 #{request.id}", at=T0 + timedelta(hours=5))
    with service.app.db.session() as session:
        decision = session.scalar(select(ApprovalDecision))
        assert decision.decider.login == "chenhead"
        assert session.get(Staff, decision.on_behalf_of_id).login == "zhousup"


DELEGATION = DEFAULT_FLOWS.replace("delegations: []", """delegations:
  - from: zhousup
    to: qianfu
    until: 2026-11-18
""")


def test_a_delegate_decides_while_the_delegation_lasts(settings, tmp_path, wecom):
    svc = build(settings, tmp_path, wecom, flows=DELEGATION)
    bot = TestBot(svc.app, now=T0, platform="wecom", pipeline=svc.pipeline)
    try:
        bot.ask("wangfang", "帮张三申请手续费优惠 1.2倍")
        [first] = requests(svc)
        [to_deputy] = outbox(svc, target="qianfu")
        assert "代 周主管" in to_deputy.body["text"] and len(outbox(svc, target="zhousup")) == 1
        assert f"#{first.id}" in bot.ask("qianfu", "我的待审批")
        assert "没有找到" in bot.ask("liuyang", f"同意 #{first.id}")  # a manager who does not stand in
        assert "已生效" in bot.ask("qianfu", f"同意 #{first.id}")
        with svc.app.db.session() as session:
            decision = session.scalar(select(ApprovalDecision))
            assert (decision.decider.login, session.get(Staff, decision.on_behalf_of_id).login) == ("qianfu", "zhousup")

        next_day = T0 + timedelta(days=1)  # 2026-11-19: the delegation has ended
        bot.ask("wangfang", "帮张三申请手续费优惠 1.3倍", at=next_day)
        second = requests(svc)[-1]
        assert [m.id for m in outbox(svc, target="qianfu")] == [to_deputy.id]  # nothing new for the deputy
        assert "不由您审批" in bot.ask("qianfu", f"同意 #{second.id}", at=next_day)
        assert requests(svc)[-1].status == ApprovalStatus.pending
    finally:
        svc.stop()


def test_lists_show_what_waits_for_me_and_how_mine_stand(service, bot):
    bot.ask("wangfang", "帮张三申请手续费优惠 1.2倍")
    bot.ask("wangfang", "帮张三申请手续费优惠 1.05倍")
    first, second = requests(service)
    bot.ask("zhousup", f"同意 #{first.id}")
    waiting = bot.push("我的待审批", as_="zhousup", message_id="list-1", at=T0)
    assert f"#{second.id}" in waiting.text and f"#{first.id} " not in waiting.text
    assert [c.value for c in waiting.choices] == [f"同意 #{second.id}", f"驳回 #{second.id}"]
    mine = bot.ask("wangfang", "我的申请")
    assert "待 周主管 审批（第 1/2 步）" in mine and "已通过" in mine
    assert "没有待您审批" in bot.ask("lijun", "我的待审批")
    assert f"#{first.id}" in bot.ask("wangfang", "张三的申请批了吗")


@pytest.mark.parametrize("old, new, where", [
    ("remind_after: 4h", "remind_after: soon", "sla.remind_after"),
    ("      - role: risk", "      - role: trader", "flows.margin_adjustment.steps.1.role"),
    ("          fee_multiple: {below: 1.1}", "          fee: {below: 1.1}",
     "flows.commission_discount.steps.1.when.fee"),
    ("delegations: []", "delegations:\n  - {from: zhousup, to: zhousup, until: 2026-12-01}", "delegations.0"),
    ("  other:                    # anything else, described in words\n    steps:\n      - role: supervisor\n", "",
     "flows"),
], ids=["duration", "role", "condition", "delegation", "missing-flow"])
def test_a_bad_approval_flows_file_stops_start_up_naming_the_line(settings, tmp_path, old, new, where):
    assert old in DEFAULT_FLOWS
    bad = DEFAULT_FLOWS.replace(old, new)
    config = tmp_path / "config"
    config.mkdir()
    (config / "approval_flows.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        App(settings.model_copy(update={"config_dir": config})).ready()
    message = str(error.value)
    assert "approval_flows.yaml" in message and f": {where}:" in message
    if new:
        line = next(n for n, text in enumerate(bad.splitlines(), 1) if new.splitlines()[-1] in text)
        assert f"line {line}:" in message


def test_in_wecom_the_supervisors_click_decides_once_and_the_requester_hears_once(service, wecom):
    wx = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=wecom.corp_id)
    with running(service) as base:
        def post(envelope) -> str:
            query, body = envelope
            answer = httpx.post(f"{base}/wecom/callback", params=query, content=body.encode(), timeout=10)
            assert answer.status_code == 200
            return parse_xml(wx.open_reply(answer.content))["Content"] if answer.content else ""

        post(wx.text("wangfang", "帮张三申请手续费优惠，按交易所1.2倍", msg_id=9001))
        [card] = wait_until(lambda: [m["template_card"] for m in wecom.received("zhousup")])
        assert "张三" in card["sub_title_text"] and "1.2 倍" in card["sub_title_text"]
        refused = post(wx.text("lijun", f"同意 #{requests(service)[0].id}", msg_id=9002))
        refused = refused or wait_until(lambda: [m["text"]["content"] for m in wecom.received("lijun")])[0]
        approve = next(b["key"] for b in card["button_list"] if b["text"] == "同意")
        now = int(time.time())
        for _ in range(3):  # WeCom delivers the click again when our answer is slow
            post(wx.card_click("zhousup", event_key=approve, task_id=card["task_id"],
                               response_code=wecom.new_response_code(), create_time=now))
        wait_until(lambda: [m for m in wecom.received("wangfang") if "批准" in str(m)])
        # The repeated deliveries were turned away before their HTTP answers, so once the one
        # click's answer has arrived nothing else is under way.
        wait_until(lambda: [m for m in wecom.received("zhousup") if m["msgtype"] == "text"])
    told = [m["text"]["content"] for m in wecom.received("wangfang") if m["msgtype"] == "text" and "批准" in str(m)]
    assert len(told) == 1 and "周主管" in told[0]
    assert refused == f"没有找到您可审批的申请 #{requests(service)[0].id}。"
    assert requests(service)[0].status == ApprovalStatus.approved
    assert terms_of_zhang(service).commission_multiple == Decimal("1.2")


def wait_until(check, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


# -- issue 10: a stranger's click leaves the card to its approver; a rejection carries its reason --

def test_a_rejection_without_a_reason_asks_for_it_and_the_next_message_completes_it(service, bot):
    bot.ask("wangfang", "帮张三申请手续费优惠 1.3倍")
    [request] = requests(service)
    assert "没有找到" in bot.ask("lijun", f"驳回 #{request.id}")  # a stranger is refused, not asked
    assert bot.ask("zhousup", f"驳回 #{request.id}") == f"请说明驳回 #{request.id} 的原因。"
    assert "已取消" in bot.ask("zhousup", "取消")
    assert requests(service)[0].status == ApprovalStatus.pending and not outbox(service, target="wangfang")
    assert "原因" in bot.ask("zhousup", f"驳回 #{request.id}", message_id="again")
    assert "已驳回" in bot.ask("zhousup", "客户交易量不够")
    assert requests(service)[0].status == ApprovalStatus.rejected
    assert requests(service)[0].comment == "客户交易量不够"
    [told] = outbox(service, target="wangfang")
    assert "被 周主管 驳回：客户交易量不够" in told.body["text"]
    [rejected] = audited(service, "approval.reject")
    assert rejected.details["comment"] == "客户交易量不够"


def test_in_wecom_a_strangers_click_leaves_the_card_and_the_approvers_click_then_decides(service, wecom, bot):
    """The card is forwarded (or stale): whoever clicks it, not being the approver, is refused; the card
    keeps its buttons and the approver's own click decides, updates it and tells the requester once."""
    wx = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=wecom.corp_id)
    with running(service) as base:
        def post(envelope) -> None:
            query, body = envelope
            answer = httpx.post(f"{base}/wecom/callback", params=query, content=body.encode(), timeout=10)
            assert answer.status_code == 200 and not answer.content

        def texts(user):
            return [m["text"]["content"] for m in wecom.received(user) if m["msgtype"] == "text"]

        bot.ask("wangfang", "帮张三申请手续费优惠，按交易所1.2倍")
        service.dispatcher.run_once()
        [card] = wait_until(lambda: [m["template_card"] for m in wecom.received("zhousup")])
        [request] = requests(service)
        approve = next(b["key"] for b in card["button_list"] if b["text"] == "同意")
        now = int(time.time())
        for user in ("lijun", "sunhe", "wangfang"):  # another team, not routed to her, the requester
            post(wx.card_click(user, event_key=approve, task_id=card["task_id"],
                               response_code=wecom.new_response_code(), create_time=now))
        [lijun] = wait_until(lambda: texts("lijun"))
        for _ in range(2):  # a refused click took nothing: tried again, it is answered again, once
            post(wx.card_click("lijun", event_key=approve, task_id=card["task_id"],
                               response_code=wecom.new_response_code(), create_time=now + 2))
        assert wait_until(lambda: texts("lijun")[1:]) == [lijun]
        [sunhe] = wait_until(lambda: texts("sunhe"))
        [own] = wait_until(lambda: texts("wangfang"))
        assert wecom.card_updates == [] and requests(service)[0].status == ApprovalStatus.pending
        code = wecom.new_response_code()
        for _ in range(3):  # WeCom delivers the approver's click again when our answer is slow
            post(wx.card_click("zhousup", event_key=approve, task_id=card["task_id"], response_code=code,
                               create_time=now + 1))
        [decided] = wait_until(lambda: texts("zhousup"))
        wait_until(lambda: [t for t in texts("wangfang") if "批准" in t])
    assert lijun == f"没有找到您可审批的申请 #{request.id}。" and texts("lijun") == [lijun, lijun]
    assert "不由您审批" in sunhe and "不能审批自己" in own
    assert "已生效" in decided
    [update] = wecom.card_updates
    assert update["userids"] == ["zhousup"] and update["button"]["replace_name"] == f"已选择：同意 #{request.id}"
    told = [t for t in texts("wangfang") if "批准" in t]
    assert len(told) == 1 and "周主管" in told[0]
    assert requests(service)[0].status == ApprovalStatus.approved
    assert terms_of_zhang(service).commission_multiple == Decimal("1.2")


def test_in_wecom_the_reject_button_asks_for_the_reason_that_the_requester_then_reads(service, wecom, bot):
    wx = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=wecom.corp_id)
    with running(service) as base:
        def post(envelope) -> str:
            query, body = envelope
            answer = httpx.post(f"{base}/wecom/callback", params=query, content=body.encode(), timeout=10)
            return parse_xml(wx.open_reply(answer.content))["Content"] if answer.content else ""

        def texts(user):
            return [m["text"]["content"] for m in wecom.received(user) if m["msgtype"] == "text"]

        bot.ask("wangfang", "帮张三申请手续费优惠，按交易所1.2倍")
        service.dispatcher.run_once()
        [card] = wait_until(lambda: [m["template_card"] for m in wecom.received("zhousup")])
        [request] = requests(service)
        reject = next(b["key"] for b in card["button_list"] if b["text"] == "驳回")
        post(wx.card_click("zhousup", event_key=reject, task_id=card["task_id"],
                           response_code=wecom.new_response_code(), create_time=int(time.time())))
        [asked] = wait_until(lambda: texts("zhousup"))
        assert requests(service)[0].status == ApprovalStatus.pending
        done = post(wx.text("zhousup", "材料不全", msg_id=9101)) or wait_until(lambda: texts("zhousup")[1:])[0]
        [told] = wait_until(lambda: [t for t in texts("wangfang") if "驳回" in t])
    assert asked == f"请说明驳回 #{request.id} 的原因。"
    assert "已驳回" in done
    assert "被 周主管 驳回：材料不全" in told
    assert requests(service)[0].status == ApprovalStatus.rejected
