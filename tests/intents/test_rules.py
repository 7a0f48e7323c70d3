"""The rule recogniser and the client index: mentions as written, lookup, confidence, and the
index following the CRM without a query per message."""
from datetime import datetime

import pytest

from intents.client_index import ClientIndex
from intents.rules import RuleRecognizer, language_of

NOW = datetime.fromisoformat("2026-11-18T09:30:00+08:00")


@pytest.fixture(scope="module")
def index():
    idx = ClientIndex()
    for cid, name, institution in [(1, "张三", False), (2, "张伟", False), (3, "张伟", False), (4, "王建国", False),
                                   (5, "John Smith", False), (6, "欧阳娜娜", False),
                                   (7, "上海汇远投资管理有限公司", True)]:
        idx.add(cid, name, institution)
    idx.by_account.update({"90012345": 1, "90040001": 4})
    idx.tags = {"套保"}
    return idx


def parse(text, index):
    return RuleRecognizer().recognize(text, index=index, now=NOW)


@pytest.mark.parametrize("mention, ids", [
    ("张三", [1]), ("張三", [1]), ("zhangsan", [1]), ("Zhang San", [1]), ("ZHANGSAN", [1]),
    ("张伟", [2, 3]), ("张总", [1, 2, 3]), ("老王", [4]), ("王总", [4]), ("欧阳总", [6]),
    ("john smith", [5]), ("JOHN SMITH", [5]), ("Mr Smith", [5]), ("90012345", [1]),
    ("汇远", [7]), ("汇远投资", [7]), ("上海汇远投资管理有限公司", [7]),
    ("王五", []), ("李总", []), ("99999999", []), ("", []),
])
def test_lookup_resolves_a_mention_as_written(index, mention, ids):
    assert index.lookup(mention) == ids


def test_find_reads_every_kind_of_mention_with_its_span(index):
    text = "張三和王总、zhang san、Mr Smith、90040001、汇远投资"
    found = index.find(text)
    assert [(m.text, m.kind) for m in found] == [
        ("張三", "name"), ("王总", "title"), ("zhang san", "pinyin"), ("Mr Smith", "title"),
        ("90040001", "account"), ("汇远投资", "alias")]
    assert all(text[m.start:m.end] == m.text for m in found)
    assert found[4].by_account and found[4].client_ids == [4]


def test_a_title_for_a_surname_nobody_has_is_a_mention_without_clients(index):
    (mention,) = index.find("李老板的保证金")
    assert mention.text == "李老板" and mention.client_ids == []


def test_words_are_not_titles(index):
    assert index.find("周总结一下") == [] and index.find("小时候") == []


def test_close_names_suggest_typos(index):
    assert "张三" in index.close_names("张山", None)
    assert index.close_names("张山", {2, 3}) == ["张伟"]


def test_spec_example(index):
    got = parse("今天下午拜访了张三，下周二再跟进", index)
    assert got.name == "log_interaction"
    assert got.slots["client"] == "张三" and got.slots["channel"] == "visit"
    assert got.slots["when"] == "2026-11-18" and got.slots["next_followup"] == "2026-11-24"


def test_confidence_is_calibrated_for_the_handlers(index):
    assert parse("张三的保证金还够吗", index).confidence >= 0.85
    assert parse("昨天给李四打了电话", index).confidence <= 0.75  # 李四 is not in this CRM: guessed
    assert 0.5 <= parse("新客户王大锤，电话13800001111，对原油期权感兴趣", index).confidence <= 0.85
    assert parse("他的持仓呢", index).confidence == pytest.approx(0.8)
    unknown = parse("今天螺纹怎么走", index)
    assert unknown.name == "unknown" and unknown.confidence == 0 and unknown.slots == {}


def test_a_lead_not_in_the_crm_is_taken_by_pattern(index):
    got = parse("新客户王大锤，电话13800001111，对原油期权感兴趣", index)
    assert got.name == "create_lead"
    assert got.slots == {"client": "王大锤", "phone": "13800001111", "interest": "原油期权"}


def test_find_clients_numbers_are_json_numbers(index):
    assert parse("风险度超过80%的客户", index).slots == {"risk_above": 80}
    assert parse("一个月没联系的客户", index).slots == {"no_contact_days": 30}
    assert parse("风险最高的5个客户", index).slots == {"top": 5}
    assert parse("可用资金低于1.5万的客户", index).slots == {"available_below": 15000}


def test_products_become_code_prefixes(index):
    for text, code in [("张三螺纹的持仓", "rb"), ("张三铁矿多少手", "i"), ("张三的甲醇", "MA"),
                       ("张三沪铜持仓", "cu"), ("张三原油仓位", "sc"), ("张三的股指持仓", "IF"),
                       ("张三 RB2605 持仓", "rb2605")]:
        assert parse(text, index).slots.get("instrument") == code, text


def test_language_of():
    assert language_of("张三的保证金") == "zh" and language_of("margin for 90012345") == "en"
    assert language_of("2") is None and language_of("#45") is None


def test_the_index_follows_the_crm_without_a_query_per_message(app, session, monkeypatch):
    from crm_core.clients import Client
    from intents import mentions
    from tests import factories as f

    f.client(session, "张三", None, ["90012345"])
    session.commit()
    index = mentions.index_for(session)
    assert index.lookup("张三") and not index.lookup("李四")
    calls = []
    real = mentions._version
    monkeypatch.setattr(mentions, "_version", lambda s: calls.append(1) or real(s))
    for _ in range(50):
        mentions.index_for(session)
    assert calls == []  # within the TTL nothing is asked
    f.client(session, "李四", None, ["90030001"])  # a commit in this process invalidates at once
    session.commit()
    assert mentions.index_for(session).lookup("李四") and index.lookup("90030001")
    row = session.query(Client).filter_by(name="李四").one()
    row.name = "李思"
    session.commit()
    assert mentions.index_for(session).lookup("李思") and not index.lookup("李四")
    monkeypatch.setattr(mentions, "TTL", 0.0)  # another process's change shows after the TTL
    session.execute(Client.__table__.update().where(Client.name == "李思").values(name="李斯"))
    session.commit()
    assert mentions.index_for(session).lookup("李斯")
