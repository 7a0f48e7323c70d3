"""Scheduled work that runs once across replicas.

Every scheduled job (risk sweep, alert follow-up and escalation, pre-open digest, reminders,
approval SLA reminders, suitability expiry, inbox cleanup, rerouting, outbox delivery, and every
later one) is registered here and run through `Jobs.run`, on the APScheduler facade
(bot.scheduler) or by hand. Two layers make "once":

1. On PostgreSQL a job takes a session advisory lock named after the job (and the schema) on a
   connection of its own, `pg_try_advisory_lock`, held for the run: while one replica runs the
   job, the others skip that round. The lock goes with the connection, so a replica that dies
   mid-run frees it.
2. The lock alone does not stop a second replica from running the same job just after the first
   has finished, so every job also claims each due item idempotently in the transaction that
   handles it: row locks (FOR UPDATE SKIP LOCKED) plus a state change (an alert's escalated_at and
   last_notified_at, a reminder's status, an approval step's reminded_at/escalated_at), and
   per-occurrence outbox refs for periodic digests ("pre_open:2026-11-18:wangfang", inserted with
   ON CONFLICT DO NOTHING on the unique (purpose, ref)).

Outbox delivery is the exception to 1: every replica delivers (adapters wake their dispatcher
after queueing a reply), each row claimed under a lease with SKIP LOCKED, and a group robot's
merged message made only of rows the dispatcher itself claimed.

SQLite serves one process (one branch): there the jobs take no database lock, only the
in-process one that keeps two runs of the same job from overlapping.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from typing import Callable, Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.scheduler import Scheduler

log = logging.getLogger("brokerbot.jobs")

Run = Callable[[datetime | None], object]


@dataclass(frozen=True)
class Job:
    name: str
    run: Run  # called with a fixed `now` (tests, by hand) or None (the clock)
    single: bool = True  # one replica at a time (advisory lock); False: row claims only


def lock_key(schema: str, name: str) -> int:
    """The advisory lock's 64-bit key: the job's name within its schema (tests and several
    deployments may share one database, each in a schema of its own)."""
    digest = hashlib.sha256(f"brokerbot.job:{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Yields whether this process holds job `name` now (always, off PostgreSQL). The lock is held
    on a connection of its own for the run, outside any transaction, and released after it."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    conn = engine.connect()
    try:
        key = lock_key(conn.scalar(text("SELECT current_schema()")), name)
        got = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        conn.commit()  # not idle in a transaction while the job runs
    except Exception:
        conn.close()
        raise
    if not got:
        conn.close()
        yield False
        return
    try:
        yield True
    finally:
        try:
            conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
        except Exception:  # the database went away: the lock went with the connection
            log.warning("could not release the lock of job %s; dropping its connection", name, exc_info=True)
            conn.invalidate()
        finally:
            conn.close()


class Jobs:
    """The scheduled jobs of one service replica."""

    def __init__(self, engine: Engine, scheduler: Scheduler):
        self.engine = engine
        self.scheduler = scheduler
        self._jobs: dict[str, Job] = {}
        self._running: dict[str, threading.Lock] = {}

    def every(self, seconds: float, name: str, run: Run, *, single: bool = True) -> None:
        self._add(Job(name, run, single))
        self.scheduler.every(seconds, name, lambda: self.run(name))

    def daily(self, at: time, name: str, run: Run) -> None:
        """At a time of day (business time zone), Monday to Friday; the job checks holidays."""
        self._add(Job(name, run))
        self.scheduler.daily(at, name, lambda: self.run(name))

    def _add(self, job: Job) -> None:
        if job.name in self._jobs:
            raise ValueError(f"job {job.name} is registered twice")
        self._jobs[job.name] = job
        self._running[job.name] = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self._jobs)

    def run(self, name: str, now: datetime | None = None) -> object | None:
        """Run job `name` once now, unless it is running already here or (PostgreSQL, `single`)
        in another replica: then None. Returns what the job returns (usually a count)."""
        job = self._jobs[name]
        running = self._running[name]
        if not running.acquire(blocking=False):
            return None
        try:
            if not job.single:
                return job.run(now)
            with exclusive(self.engine, name) as mine:
                if not mine:
                    log.debug("job %s runs in another replica; skipped", name)
                    return None
                return job.run(now)
        finally:
            running.release()
