"""Nothing about a client is posted in a group chat: every example of every catalog intent, asked
in a group, is either answered to the asker directly (Reply.private, which the adapters send as a
direct message with a note in the group) or answered with words that carry no figure and that a
person without a single client would get word for word."""
import re

from intents.catalog import catalog
from intents.handlers.general import HELP_BY_ROLE
from tests.testbot import GROUP

FIGURE = re.compile(r"\d[\d,]*\.\d\d|\d+(?:\.\d+)?\s*%|\d{6,}")
EXAMPLES = [(name, text) for name, spec in catalog().items() for text in spec.examples]


def help_texts(app) -> set[str]:
    return {app.messages.t(key, lang) for key in ("help", *HELP_BY_ROLE.values()) for lang in ("zh", "en")}


def test_every_example_of_every_intent_posts_nothing_about_a_client_in_a_group(app, crm, testbot):
    posted = []
    for name, text in EXAMPLES:
        for login in ("m1", "sup1", "risk1"):
            reply = testbot.push(text, as_=login, chat="group")
            if reply.private:
                continue
            assert not FIGURE.search(reply.text), (login, name, text, reply.text)
            if reply.text == app.messages.t("direct_chat_only", "zh"):
                continue  # "ask me in a direct message": a fixed sentence
            if name == "help" and reply.text in help_texts(app):
                posted.append(name)
                continue  # the help of the asker's role: fixed sentences, whoever's clients they are
            nobody = testbot.push(text, as_="m1b", chat="group")  # 陈静 has no clients: the words without data
            assert reply.text == nobody.text, (login, name, text, reply.text)
            posted.append(name)
    assert "help" in posted  # the rule lets harmless answers through; it does not just mute groups
    in_group = testbot.to(GROUP)
    assert in_group and not [s.text for s in in_group if FIGURE.search(s.text)]


def test_the_kpi_report_in_a_group_goes_to_the_asker(app, crm, testbot):
    reply = testbot.push("我这个月的业绩", as_="m2", chat="group")
    assert reply.private and "客户权益合计：200,000.00" in reply.text
    [answer, note] = testbot.pop_all()
    assert (answer.to, answer.chat, answer.text) == ("m2", "direct", reply.text)
    assert (note.chat, note.text) == ("group", app.messages.t("answered_in_dm", "zh"))
