"""A small facade over APScheduler (3.x: its 4.x rewrite changes the whole API and was still
pre-release when this was written, 2026), as python-telegram-bot's JobQueue wraps it.

Jobs run in a thread pool, one instance at a time each, and log (never raise) their errors."""
from __future__ import annotations

import logging
from datetime import time
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot.logs import new_correlation_id

log = logging.getLogger("brokerbot.scheduler")


class Scheduler:
    def __init__(self, timezone) -> None:
        self._scheduler = BackgroundScheduler(timezone=timezone)

    @staticmethod
    def _logged(name: str, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            new_correlation_id()
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed", name)
        return run

    def every(self, seconds: float, name: str, job: Callable[[], object]) -> None:
        self._scheduler.add_job(self._logged(name, job), "interval", seconds=seconds, id=name, name=name,
                                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(seconds)))

    def daily(self, at: time, name: str, job: Callable[[], object]) -> None:
        """At a time of day (business time zone), Monday to Friday; the job checks holidays."""
        self._scheduler.add_job(self._logged(name, job), "cron", day_of_week="mon-fri", hour=at.hour,
                                minute=at.minute, id=name, name=name, max_instances=1, coalesce=True,
                                misfire_grace_time=600)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
