"""The chat pipeline as account managers use it: margin, positions, profile, logging a visit,
visibility between teams, ambiguous names and unknown names."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core import audit
from crm_core.clients import Client
from crm_core.interactions import Interaction
from crm_core.reminders import Reminder
from crm_core.staff import Role
from tests import factories as f
from tests.worlds import NOW, SNAP_AT

NOT_FOUND = "没有找到您名下（或权限范围内）的客户「{}」。"


def test_margin_answer_has_every_figure_and_the_time(app, crm, testbot):
    text = testbot.person("m1").send("张三的保证金还够吗").text
    assert "客户权益：1,425,363.60" in text
    assert "保证金占用：751,468.00" in text
    assert "可用资金：673,895.60" in text
    assert "风险度：52.72%（正常）" in text
    assert "交易所风险度：42.18%" in text
    assert "应追加资金" not in text
    assert "2026-11-17 15:00" in text


def test_margin_call_is_shown_when_over_100_percent(app, crm, testbot):
    text = testbot.person("m2").send("李四的资金情况").text
    assert "风险度：105.00%（追保）" in text
    assert "应追加资金：10,000.00" in text
    assert "可用资金：-10,000.00" in text


def test_another_teams_manager_gets_no_figures(app, crm, testbot):
    text = testbot.person("m2").send("张三的保证金还够吗").text
    assert text == "没有找到您名下（或权限范围内）的客户「张三」。"
    assert "1,425,363.60" not in text and "%" not in text


def test_another_teams_client_gets_the_unknown_names_answer_word_for_word(app, crm, testbot):
    """Nothing tells "exists elsewhere" from "does not exist": names, account numbers, writes."""
    for theirs, nobody in (("张三的保证金还够吗", "赵六的保证金还够吗"), ("张三的资料", "赵六的资料"),
                           ("90012345 风险度多少", "90099999 风险度多少"),
                           ("今天拜访了张三，聊了套保", "今天拜访了赵六，聊了套保")):
        mention = "90012345" if theirs[0].isdigit() else "张三"
        other = "90099999" if theirs[0].isdigit() else "赵六"
        asked = testbot.person("m2").send(theirs).text
        assert asked == NOT_FOUND.format(mention), theirs
        assert asked.replace(mention, other) == testbot.person("m2").send(nobody).text
    assert testbot.person("m2").send("margin for 90012345").text == 'No client "90012345" among the clients you may see.'
    assert crm.scalar(select(Interaction)) is None


@pytest.mark.parametrize("theirs, nobody", [
    ("张三", "赵六"), ("查一下张三", "查一下赵六"), ("张三怎么样", "赵六怎么样"), ("张三电话", "赵六电话"),
    ("张三这个月的业绩", "赵六这个月的业绩"), ("张三呢", "赵六呢"), ("张总的资料", "钱总的资料"),
    ("zhangsan 要追保吗", "zhaoliu 要追保吗"), ("张三有没有螺纹", "赵六有没有螺纹")])
def test_reading_a_message_does_not_know_another_teams_clients(app, crm, theirs, nobody, testbot):
    """The recogniser reads with the asker's clients only: a bare name, pinyin or a question whose
    shape alone names nobody gets what a name nobody has gets."""
    mention, other = ("zhangsan", "zhaoliu") if theirs.isascii() or "zhangsan" in theirs else \
        ("张总", "钱总") if "总" in theirs else ("张三", "赵六")
    def blanked(text):  # the answer with either name blanked (the help's examples name 张三)
        return text.replace(mention, "X").replace(other, "X")
    assert blanked(testbot.person("m2").send(theirs).text) == blanked(testbot.person("m2").send(nobody).text)


def test_a_lead_duplicating_another_teams_client_names_neither_client_nor_manager(app, crm, testbot):
    """Registering the same person twice is refused, but who they are and who serves them is not
    told to someone outside that team (the supervisor sorts it out from the audit log)."""
    theirs = testbot.person("m2")
    theirs.send("新客户王大锤，电话13812345678，朋友介绍的")
    text = theirs.send("确认").text
    assert "没有重复登记" in text and "张三" not in text and "王芳" not in text
    crm.expire_all()
    assert crm.scalar(select(Client).where(Client.name == "王大锤")) is None
    entry = crm.scalar(select(audit.AuditEntry).where(audit.AuditEntry.action == "lead.duplicate_elsewhere"))
    assert entry.actor == "m2" and "13812345678" not in str(entry.details)
    mine = testbot.person("m1")
    mine.send("新客户王大锤，电话13812345678，朋友介绍的")
    assert "张三" in mine.send("确认").text  # their own client: named


def test_a_refusal_is_audited_without_telling_the_asker(app, crm, testbot):
    testbot.person("m2").send("张三的保证金还够吗")
    crm.expire_all()
    zs = crm.scalar(select(Client).where(Client.name == "张三"))
    [entry] = crm.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "access.not_visible")).all()
    assert entry.actor == "m2" and entry.entity_id == str(zs.id)
    assert entry.details["intent"] == "query_margin" and entry.details["source"]["text"] == "张三的保证金还够吗"
    testbot.person("m2").send("赵六的保证金还够吗")  # nobody's: nothing to audit
    crm.expire_all()
    assert len(crm.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "access.not_visible")).all()) == 1


def test_suggestions_name_only_clients_the_asker_may_see(app, crm, testbot):
    text = testbot.person("m2").send("张山的保证金还够吗").text
    assert text == NOT_FOUND.format("张山") and "张三" not in text
    assert "李四" in testbot.person("m2").send("李思的保证金还够吗").text


def test_supervisor_sees_team_and_risk_sees_all(app, crm, testbot):
    assert "1,425,363.60" in testbot.person("sup1").send("张三的保证金还够吗").text
    assert testbot.person("sup2").send("张三的保证金还够吗").text == NOT_FOUND.format("张三")
    assert "1,425,363.60" in testbot.person("risk1").send("张三的保证金还够吗").text


def test_ambiguous_name_offers_a_numbered_choice_and_a_number_picks(app, crm, testbot):
    session = testbot.person("m1")
    first = session.send("张伟的保证金")
    assert "有 2 位客户符合“张伟”" in first.text
    assert "1. 张伟（账户 90020001" in first.text and "2. 张伟（账户 90020002" in first.text
    assert [c.value for c in first.choices] == ["1", "2"]
    second = session.send("2").text
    assert "90020002" in second and "还没有资金数据" in second
    session.send("张伟的保证金")
    assert "请回复 1 到 2" in session.send("3").text


def test_unknown_client_says_so_and_suggests_close_names(app, crm, testbot):
    text = testbot.person("m1").send("张山的保证金还够吗").text
    assert text.startswith("没有找到您名下（或权限范围内）的客户「张山」，您是不是要找：") and "张三" in text


def test_positions_list_every_row_with_direction_and_figures(app, crm, testbot):
    text = testbot.person("m1").send("张三的持仓").text
    assert "rb2601（SHFE）多 30手 保证金 287,640.00 盈亏 -14,200.00" in text
    assert "i2601（DCE）空 25手" in text
    only = testbot.person("m1").send("张三 rb 持仓").text
    assert "rb2601" in only


def test_profile_masks_personal_data(app, crm, testbot):
    text = testbot.person("m1").send("张三的资料").text
    assert "138****5678" in text and "13812345678" not in text
    assert "110***********4514" in text
    assert "套保、高净值" in text and "王芳" in text


def test_pronoun_follows_the_last_client(app, crm, testbot):
    session = testbot.person("m1")
    session.send("张三的保证金还够吗")
    assert "rb2601" in session.send("他的持仓呢").text


def test_logging_a_visit_writes_interaction_reminder_and_source(app, crm, testbot):
    reply = testbot.person("m1").send("今天下午拜访了张三，聊了套保方案，下周二再跟进").text
    assert "已记录" in reply and "2026-11-24" in reply
    crm.expire_all()
    interaction = crm.scalar(select(Interaction))
    assert interaction.channel.value == "visit" and interaction.summary == "聊了套保方案"
    assert interaction.occurred_at.astimezone(app.db.tz).date().isoformat() == "2026-11-18"
    assert interaction.source_platform == "terminal" and interaction.source_user == "m1"
    assert interaction.source_text == "今天下午拜访了张三，聊了套保方案，下周二再跟进"
    reminder = crm.scalar(select(Reminder))
    assert reminder.due_at.astimezone(app.db.tz).date().isoformat() == "2026-11-24"
    assert reminder.staff_id == interaction.staff_id
    assert audit.verify(session=crm)[1] is None
    assert "聊了套保方案" in testbot.person("m1").send("张三的资料").text


def test_cannot_log_a_visit_on_someone_elses_client(app, crm, testbot):
    reply = testbot.person("m2").send("今天拜访了张三，聊了套保")
    assert reply.text == NOT_FOUND.format("张三")
    assert crm.scalar(select(Interaction)) is None


def test_unknown_user_and_errors_never_show_a_traceback(app, crm, testbot):
    assert "还不是 brokerbot 的登记用户" in testbot.person("nobody").send("张三的保证金").text
    assert "可以问我" in testbot.person("m1").send("今天天气怎么样").text


def test_english_question_gets_an_english_answer(app, crm, testbot):
    text = testbot.person("m1").send("margin for 90012345").text
    assert "Equity: 1,425,363.60" in text and "Risk degree: 52.72% (normal)" in text


def test_a_fault_gives_a_reference_not_a_traceback_and_the_log_has_both(app, crm, caplog, testbot):
    from sqlalchemy import text as sql

    crm.execute(sql("UPDATE clients SET phone_enc = 'not-a-fernet-token' WHERE name = '张三'"))
    crm.commit()
    reply = testbot.person("m1").send("张三的资料").text
    assert "Traceback" not in reply and "编号" in reply
    ref = reply.split("编号 ")[1].split("）")[0]
    failure = [r for r in caplog.records if r.exc_info]
    assert failure and "cannot be decrypted" in str(failure[0].exc_info[1])
    from bot.logs import correlation_id
    assert correlation_id.get() == ref


def test_context_expires_after_the_idle_time(app, crm, testbot):
    testbot.push("张三的保证金还够吗", as_="m1")
    later = NOW + app.settings.context_idle + timedelta(minutes=1)
    assert "请问是哪位客户" in testbot.push("他的持仓呢", as_="m1", at=later).text
    testbot.push("张三的保证金还够吗", as_="m1", at=later + timedelta(seconds=1))
    soon = later + timedelta(minutes=5)
    assert "rb2601" in testbot.push("他的持仓呢", as_="m1", at=soon).text


def test_compliance_reads_every_client_but_changes_none(app, crm, testbot):
    f.staff(crm, "comp1", "孙合规", Role.compliance)
    crm.commit()
    talk = testbot.person("comp1")
    assert "客户权益：1,425,363.60" in talk.send("张三的保证金还够吗").text
    assert "只读" in talk.send("今天下午拜访了张三，聊了套保方案").text
    with app.db.session() as session:
        assert session.scalars(select(Interaction)).all() == []
        assert [e.action for e in session.scalars(select(audit.AuditEntry))][-1] == "access.read_only"


def test_a_phone_number_written_in_a_visit_note_is_masked_when_shown(app, crm, testbot):
    talk = testbot.person("m1")
    talk.send("今天给张三打了电话，他换了新号码13987654321，下周再联系")
    profile = talk.send("张三的资料").text
    assert "13987654321" not in profile and "139****4321" in profile


def test_two_first_messages_of_one_person_at_once_both_get_an_answer(app, crm):
    """Two replicas (two sessions) handle a person's first two messages at the same moment."""
    from crm_core import conversations

    m1 = crm.scalar(select(f.Staff).where(f.Staff.login == "m1"))
    with app.db.session() as first, app.db.session() as second:
        for s in (first, second):
            assert conversations.load_state(session=s, staff_id=m1.id, platform="wecom", now=NOW,
                                            idle=timedelta(minutes=30)) == {}
        conversations.save_state(session=first, staff_id=m1.id, platform="wecom", now=NOW, state={"n": 1})
        first.commit()
        conversations.save_state(session=second, staff_id=m1.id, platform="wecom", now=NOW, state={"n": 2})
        second.commit()
    with app.db.session() as s:
        assert conversations.load_state(session=s, staff_id=m1.id, platform="wecom", now=NOW,
                                        idle=timedelta(minutes=30)) == {"n": 2}


def test_a_position_with_no_profit_or_loss_is_shown_as_zero(app, crm, testbot):
    f.position(crm, "90012345", SNAP_AT, "CZCE", "MA601", "long", 10, "0.00", "0.00")
    crm.commit()
    text = testbot.person("m1").send("张三的持仓").text
    assert "MA601（CZCE）多 10手 保证金 0.00 盈亏 0.00" in text
