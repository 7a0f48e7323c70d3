"""Nothing about a client is posted in a group chat: every example of every catalog intent, asked
in a group, is either answered to the asker directly (Reply.private, which the adapters send as a
direct message with a note in the group) or answered with words that carry no figure and that a
person without a single client would get word for word."""
import re
from datetime import datetime, timedelta

import pytest

from bot.events import ChatEvent
from bot.pipeline import Pipeline
from intents.catalog import catalog
from tests.test_chat import NOW, crm  # noqa: F401  (the fixture)

FIGURE = re.compile(r"\d[\d,]*\.\d\d|\d+(?:\.\d+)?\s*%|\d{6,}")
EXAMPLES = [(name, text) for name, spec in catalog().items() for text in spec.examples]


def ask(pipeline, login, text, n, chat_type="group"):
    return pipeline.handle(ChatEvent("terminal", f"group-{login}-{n}", login, text, NOW + timedelta(seconds=n),
                                     chat_type, "G0TEAM" if chat_type == "group" else None))


def test_every_example_of_every_intent_posts_nothing_about_a_client_in_a_group(app, crm):  # noqa: F811
    pipeline = Pipeline(app)
    posted = []
    for n, (name, text) in enumerate(EXAMPLES):
        for login in ("m1", "sup1", "risk1"):
            reply = ask(pipeline, login, text, n)
            if reply.private:
                continue
            assert not FIGURE.search(reply.text), (login, name, text, reply.text)
            if reply.text == app.messages.t("direct_chat_only", "zh"):
                continue  # "ask me in a direct message": a fixed sentence
            nobody = ask(pipeline, "m1b", text, n)  # 陈静 has no clients: the words without data
            assert reply.text == nobody.text, (login, name, text, reply.text)
            posted.append(name)
    assert "help" in posted  # the rule lets harmless answers through; it does not just mute groups


def test_the_kpi_report_in_a_group_goes_to_the_asker(app, crm):  # noqa: F811
    reply = ask(Pipeline(app), "m2", "我这个月的业绩", 1)
    assert reply.private and "客户权益合计：200,000.00" in reply.text
