"""The inbox is the unit of work (issue 12 items 3 and 4): a message WeCom was told arrived is
answered exactly once, whatever dies in between: the worker (a kill -9 after the ack), the
database link (answered when it is back, no apology and nothing consumed), or a second worker
racing the first. The service runs for real over HTTP; WeCom is the fake on loopback."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.events import ChatEvent
from bot.inbox import LEASE, SETTLE
from bot.service import Service
from crm_core.inbox import DONE, PENDING, InboundMessage, lease
from crm_core.outbox import OutboxMessage
from crm_core.staff import Role
from tests import factories as f
from tests.fakes.tcp_cut import CuttableLink
from tests.fakes.wecom_crypto import CallbackClient
from tests.fakes.wecom_server import FakeWeCom
from tests.running import running
from tests.worlds import SNAP_AT

TOKEN, AES_KEY, CORP = "brokerbotToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwfakecorp0001"
FIGURES = "1,425,363.60"


@pytest.fixture
def wecom():
    with FakeWeCom(corp_id=CORP, users={"wangfang"}) as fake:
        yield fake


def seed(app) -> None:
    with app.db.transaction() as session:
        m1 = f.staff(session, "wangfang", "王芳", Role.manager, wecom_userid="wangfang")
        f.client(session, "张三", m1, ["90012345"])
        f.snapshot(session, "90012345", SNAP_AT, "1425363.60", "751468.00")


def configure(settings, wecom) -> None:
    settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id = CORP, wecom.secret, str(wecom.agent_id)
    settings.wecom_token, settings.wecom_aes_key, settings.wecom_api_base = TOKEN, AES_KEY, wecom.base_url


def margin_question(msg_id: int) -> ChatEvent:
    return ChatEvent("wecom", f"msg:{msg_id}", "wangfang", "张三的保证金还够吗", datetime.now(timezone.utc))


def answers(wecom) -> list[str]:
    return [m["text"]["content"] for m in wecom.received("wangfang") if m["msgtype"] == "text"]


def rows(app, *where) -> list[InboundMessage]:
    with app.db.session() as session:
        return list(session.scalars(select(InboundMessage).where(*where)))


def wait_until(check, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_a_message_accepted_before_a_crash_is_answered_once_after_the_restart(app, wecom):
    seed(app)
    configure(app.settings, wecom)
    # The first process kept the message and acked WeCom, then died before its worker answered.
    dying = Service(app)
    assert dying.inbox.accept(margin_question(8001)) is not None
    pending = rows(app, InboundMessage.status == PENDING)
    assert len(pending) == 1 and "张三" not in pending[0].payload  # kept sealed, like every message text
    # The next process answers it once, however often recovery runs and WeCom retries.
    restarted = Service(App(app.settings).ready())
    later = datetime.now(timezone.utc) + SETTLE + timedelta(seconds=1)
    assert restarted.inbox.recover(later) == 1
    assert restarted.inbox.recover(later) == 0
    assert restarted.inbox.take(margin_question(8001)) is False
    got = answers(wecom)
    assert len(got) == 1 and FIGURES in got[0]
    done = rows(app, InboundMessage.dedupe_key == "msg:8001")
    assert done[0].status == DONE and done[0].payload is None


def test_two_workers_on_one_message_answer_it_once(app, wecom):
    """A worker whose lease ran out (stalled, not dead) finishes after another answered: its
    transaction is rolled back, writes and reply with it."""
    seed(app)
    configure(app.settings, wecom)
    service = Service(app)
    row = service.inbox.accept(margin_question(8002))
    now = datetime.now(timezone.utc)
    with app.db.transaction() as session:  # the slow worker leases the row ...
        assert lease(session=session, row_id=row, now=now, hold=LEASE) is not None
    # ... which runs out; recovery answers it
    assert service.inbox.recover(now + LEASE + timedelta(seconds=1)) == 1
    # the slow worker's answer now comes back as already answered
    assert service.pipeline.handle(margin_question(8002), queue=lambda *a: None, inbox_id=row) is None
    with app.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_while_the_database_link_is_down_wecom_is_told_to_retry_and_nothing_is_consumed(settings, wecom, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("a network link to cut: PostgreSQL (SQLite is a file in the process)")
    parts = urlsplit(db_url)
    with CuttableLink(parts.hostname, parts.port or 5432) as link:
        via = db_url.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{link.port}", 1)
        linked = settings.model_copy(update={"database_url": via})
        app = App(linked).ready()
        seed(app)
        configure(app.settings, wecom)
        service = Service(app)
        wx = CallbackClient(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP)
        with running(service) as base:
            accepted = service.inbox.accept(margin_question(8003))  # accepted, then the link fails
            link.cut()
            assert service.inbox.answer(accepted) is False  # not answered, not consumed, no apology
            query, body = wx.text("wangfang", "张三的保证金还够吗", msg_id=8004)
            refused = httpx.post(f"{base}/wecom/callback", params=query, content=body.encode(), timeout=30)
            assert refused.status_code == 503  # WeCom retries
            assert wecom.sent == []
            link.restore()
            retried = httpx.post(f"{base}/wecom/callback", params=query, content=body.encode(), timeout=30)
            assert retried.status_code == 200
            assert service.inbox.recover(datetime.now(timezone.utc) + LEASE + timedelta(seconds=1)) >= 1
            wait_until(lambda: len(answers(wecom)) >= 2)
            time.sleep(0.3)
        got = answers(wecom)
        assert len(got) == 2 and all(FIGURES in text for text in got)
        assert not any("出错" in text or "抱歉" in text for text in got)
        assert rows(app, InboundMessage.status == PENDING) == []
        service.inbox.close()
        app.close()


def test_a_restart_takes_back_at_once_what_a_killed_worker_was_answering(app, wecom):
    """A worker killed mid-answer holds its lease; the next process on the host sees the worker's
    process is gone and answers the message at start, not a minute later."""
    seed(app)
    configure(app.settings, wecom)
    dying = Service(app)
    row = dying.inbox.accept(margin_question(8005))
    with app.db.transaction() as session:  # the dying process's worker had leased it
        assert lease(session=session, row_id=row, now=datetime.now(timezone.utc), hold=LEASE,
                     worker=f"{dying.inbox.worker.split(':')[0]}:999999999:dead") is not None
    restarted = Service(App(app.settings).ready())
    assert restarted.inbox.recover() == 0  # held: the lease has a minute to run
    assert restarted.inbox.recover(at_start=True) == 1
    assert len(answers(wecom)) == 1
