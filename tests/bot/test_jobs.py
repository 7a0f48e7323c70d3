"""Scheduled work runs once across replicas (issue 11 item 4): three services on one PostgreSQL
database run every job at the same moments, several rounds each, and the people and the group
robot hear of an account crossing into margin call exactly once per occurrence: one alert, one
escalation, one pre-open digest, one reminder, each group message once (merged or not), also
when the database stalls in the middle of the follow-up run. On SQLite one process runs them.

The stall here is 5 s, not the 40 s of the issue: what matters is that every replica's run is
held up at once and then resumes together; the length only has to exceed the time the replicas
need to pile up behind it (well under a second), and 40 s would add half a minute to every run of
the suite. BROKERBOT_TEST_STALL_SECONDS=40 runs the long one by hand."""
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select, text

from bot.app import App
from bot.jobs import exclusive
from bot.service import Service
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.reminders import Reminder
from crm_core.staff import Role
from tests import factories as f
from tests.fakes.wecom_server import FakeWeCom

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Shanghai, in session
PRE_OPEN = datetime(2026, 11, 19, 0, 30, tzinfo=timezone.utc)  # Thursday 08:30 in Shanghai
STALL = float(os.environ.get("BROKERBOT_TEST_STALL_SECONDS", "5"))
ROUNDS = 3


@pytest.fixture
def wecom():
    with FakeWeCom(users={"wangfang", "zhousup"}, timeout_delay=1.0) as fake:
        yield fake


def replicas(settings, tmp_path, wecom, db_url) -> list[Service]:
    config = f.channels(tmp_path, wecom)
    s = settings.model_copy(update=dict(
        config_dir=config, wecom_corp_id=wecom.corp_id, wecom_secret=wecom.secret,
        wecom_agent_id=str(wecom.agent_id), wecom_api_base=wecom.base_url))
    # Several processes on PostgreSQL; SQLite serves one process (README).
    services = [Service(App(s)) for _ in range(3 if db_url.startswith("postgresql") else 1)]
    for service in services:  # each claims a part of the group's rows, so merging meets others' claims
        service.dispatcher.batch = 1
    return services


def at_once(services, job, now, rounds=ROUNDS):
    """Every replica runs `job(service, now)` in its own thread, `rounds` times; errors re-raised."""
    errors = []

    def run(service):
        try:
            for _ in range(rounds):
                job(service, now)
        except Exception as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=STALL + 120)
    assert not errors, errors


def stalled(db_url, table: str, mode: str):
    """Holds a table lock from another connection for STALL seconds (in a thread)."""
    engine = create_engine(db_url)
    locked = threading.Event()

    def hold():
        with engine.connect() as conn, conn.begin():
            conn.execute(text(f"LOCK TABLE {table} IN {mode} MODE"))
            locked.set()
            time.sleep(STALL)
        engine.dispose()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(30)
    return thread


# The same work called past the jobs' advisory locks (as a replica starting a run just after
# another finished, or a run by hand): the row claims and occurrence keys alone must hold.
UNLOCKED = {"risk_sweep": lambda s, now: s.risk_sweep(now), "reminders": lambda s, now: s.queue_reminders(now),
            "alert_follow_up": lambda s, now: s.alerting.follow_up(now), "pre_open": lambda s, now: s.pre_open(now)}


@pytest.mark.parametrize("entry", ["jobs", "without the job locks"])
def test_three_replicas_send_each_alert_digest_escalation_reminder_and_group_message_once(
        settings, tmp_path, wecom, db_url, entry):
    if entry != "jobs" and not db_url.startswith("postgresql"):
        pytest.skip("one process on SQLite: its jobs are the only entry")
    services = replicas(settings, tmp_path, wecom, db_url)

    def job(name):
        return (lambda service, now: service.jobs.run(name, now)) if entry == "jobs" else UNLOCKED[name]

    first = services[0]
    try:
        with first.app.db.transaction() as session:
            team = f.team(session, "一组")
            sup = f.staff(session, "zhousup", "周主管", Role.supervisor, team, wecom_userid="zhousup")
            wang = f.staff(session, "wangfang", "王芳", Role.manager, team, sup, wecom_userid="wangfang")
            f.client(session, "张三", wang, accounts=["A-100"])
            f.snapshot(session, "A-100", T0, "1000000.00", "1023500.00")  # 102.35%: a margin call
            session.add(Reminder(staff_id=wang.id, due_at=T0, content="给张三打电话"))

        at_once(services, job("risk_sweep"), T0)
        at_once(services, job("reminders"), T0 + timedelta(minutes=1))
        pg = db_url.startswith("postgresql")
        # The database stalls in the middle of the follow-up run: the alerts are read, the notices
        # cannot be written until the lock goes (EXCLUSIVE lets reads through, not writes).
        stall = stalled(db_url, "outbox", "EXCLUSIVE") if pg else None
        at_once(services, job("alert_follow_up"), T0 + timedelta(minutes=31))
        if stall is not None:
            stall.join()
        at_once(services, job("pre_open"), PRE_OPEN)
        at_once(services, job("pre_open"), PRE_OPEN + timedelta(minutes=2))  # a late second run: no second digest
        # Delivery. The group robot had its 20 posts of the minute, so its three rows are held back
        # to the same moment; then three dispatchers claim them one each at once, and the robot is
        # slow (answers after 1 s), so each dispatcher groups while the others are sending.
        deliver = PRE_OPEN + timedelta(minutes=3)
        with first.app.db.transaction() as session:
            session.add_all(OutboxMessage(channel="wecom_webhook", target="risk-desk", body={"text": "earlier"},
                                          purpose="alert", status=OutboxStatus.delivered, created_at=T0,
                                          next_attempt_at=T0, delivered_at=deliver - timedelta(seconds=30))
                            for _ in range(20))
        at_once(services, lambda s, now: s.dispatcher.run_once(now), deliver, rounds=10)
        assert wecom.webhook_messages["riskkey"] == []  # held back, not dropped
        wecom.fail_next("late", times=20, path="/cgi-bin/webhook/send")
        at_once(services, lambda s, now: s.dispatcher.run_once(now), deliver + timedelta(minutes=1), rounds=10)
        if pg:  # and once more while the database stalls for every table a dispatcher writes
            stall = stalled(db_url, "alerts", "ACCESS EXCLUSIVE")
            at_once(services, job("alert_follow_up"), PRE_OPEN + timedelta(minutes=5))
            stall.join()
            at_once(services, lambda s, now: s.dispatcher.run_once(now), PRE_OPEN + timedelta(minutes=6))

        to_manager = [str(m) for m in wecom.received("wangfang")]
        assert sum("【追保】#" in m for m in to_manager) == 1, to_manager  # the alert
        assert sum("开盘前未解除预警" in m for m in to_manager) == 1, to_manager  # the pre-open digest
        assert sum("给张三打电话" in m for m in to_manager) == 1, to_manager  # the reminder
        assert sum("再次提醒" in m for m in to_manager) == (1 if pg else 0), to_manager  # the next morning's
        to_supervisor = [str(m) for m in wecom.received("zhousup")]
        assert sum("未确认·追保" in m for m in to_supervisor) == 1, to_supervisor  # the escalation
        group = "\n".join(str(m) for m in wecom.webhook_messages["riskkey"])
        assert group.count("【追保】#") == 1, group
        assert group.count("未确认·追保") == 1, group
        assert group.count("开盘前未解除预警") == 1, group
        with first.app.db.session() as session:
            rows = list(session.scalars(select(OutboxMessage)))
        assert all(r.status == OutboxStatus.delivered for r in rows), [(r.id, r.status) for r in rows]
    finally:
        for service in services:
            service.stop()


def test_a_job_another_replica_holds_is_skipped_and_runs_once_the_lock_is_free(settings, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serves one process")
    service = Service(App(settings))
    other = App(settings)
    try:
        runs = []
        service.jobs.every(3600, "probe", lambda now: runs.append(now) or len(runs))
        with exclusive(other.db.engine, "probe") as mine:  # another replica is running it
            assert mine
            assert service.jobs.run("probe", T0) is None
        assert service.jobs.run("probe", T0) == 1

        def fails(now):
            raise RuntimeError("a failing run")

        service.jobs.every(3600, "failing", fails)
        with pytest.raises(RuntimeError):
            service.jobs.run("failing", T0)
        with exclusive(other.db.engine, "failing") as mine:  # a failed run let go of its lock
            assert mine
    finally:
        service.stop()
        other.close()
