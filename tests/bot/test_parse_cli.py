"""`brokerbot parse` as SPEC §2 and §7 say: one JSON object per line, --now, batch from stdin,
client names from the CRM the command is pointed at."""
import json

from tests import factories as f

NOW = "2026-11-18T09:30:00+08:00"


def lines(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_spec_example(app, session, cli):
    f.client(session, "张三", None, ["90012345"])
    session.commit()
    (out,) = lines(cli("parse", "--now", NOW, "今天下午拜访了张三，下周二再跟进"))
    assert out["intent"] == "log_interaction"
    assert {k: out["slots"][k] for k in ("client", "channel", "when", "next_followup")} == {
        "client": "张三", "channel": "visit", "when": "2026-11-18", "next_followup": "2026-11-24"}
    assert 0.85 <= out["confidence"] <= 1


def test_batch_from_stdin_one_line_each_in_order(app, session, cli):
    f.client(session, "张伟", None, ["90020001"])
    f.client(session, "John Smith", None, ["80010001"])
    session.commit()
    text = "張偉的保證金\n\nmargin for 80010001\n风险度超过80%的客户\n今天螺纹怎么走\n明天上午十点提醒我给张伟打电话\n"
    out = lines(cli("parse", "--now", NOW, input=text))
    assert [o["intent"] for o in out] == ["query_margin", "query_margin", "find_clients", "unknown",
                                          "create_reminder"]
    assert out[0]["slots"] == {"client": "張偉"} and out[1]["slots"] == {"client": "80010001"}
    assert out[2]["slots"] == {"risk_above": 80} and out[3]["confidence"] == 0
    assert out[4]["slots"]["when"] == "2026-11-19T10:00:00+08:00" and out[4]["slots"]["client"] == "张伟"


def test_a_name_only_in_the_crm_is_known_there(app, session, cli):
    before = lines(cli("parse", "--now", NOW, "查一下欧阳娜娜"))[0]
    f.client(session, "欧阳娜娜", None, [])
    session.commit()
    after = lines(cli("parse", "--now", NOW, "ouyang nana"))[0]
    assert before["intent"] == "client_profile" and after == {
        "intent": "client_profile", "slots": {"client": "ouyang nana"}, "confidence": after["confidence"],
        "source": "rules"}
    assert after["confidence"] >= 0.85


def test_a_bad_now_is_one_line_on_stderr(app, cli):
    result = cli("parse", "--now", "tomorrow", "帮助")
    assert result.returncode != 0 and "--now" in result.stderr and "Traceback" not in result.stderr
