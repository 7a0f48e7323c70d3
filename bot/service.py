"""The running service: one pipeline for every platform, the outbox dispatcher, and the
scheduled jobs (bot.jobs: each runs once across replicas)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from bot.alerting import Alerting
from bot.app import App
from bot.inbox import Inbox
from bot.approvals import remind_overdue
from bot.jobs import Jobs
from bot.pipeline import Pipeline
from bot.platforms import registry
from bot.routing import address, direct_channel
from bot.scheduler import Scheduler
from crm_core import audit
from crm_core.inbox import forget_old
from crm_core.suitability import queue_expiry_reminders
from messaging.replies import Reply
from notifiers.outbox import Dispatcher, Sender, enqueue, reroute
from notifiers.reminders import queue_due_reminders
from notifiers.webhooks import channel_senders

log = logging.getLogger("brokerbot.service")


def build_senders(app: App) -> dict[str, Sender]:
    """A sender for each platform the settings configure, and the group robots of channels.yaml."""
    senders: dict[str, Sender] = {}
    for platform in registry.platforms():
        if platform.configured(app.settings):
            sender = platform.sender(app)
            if sender is not None:
                senders[platform.name] = sender
    senders.update(channel_senders(app))  # group robots of channels.yaml
    return senders


class Service:
    def __init__(self, app: App, senders: dict[str, Sender] | None = None):
        self.app = app.ready()
        self.pipeline = Pipeline(app)
        self.senders: dict[str, Sender] = build_senders(app) if senders is None else dict(senders)
        self.dispatcher = Dispatcher(app.db, self.senders)
        self.inbox = Inbox(self)  # accepted messages, answered by its workers
        self.adapters: dict[str, object] = {}  # the platforms' long-lived adapters, built once (adapter())
        self.alerting = Alerting(app)
        # Each job runs once across replicas (bot.jobs); outbox delivery runs in every replica,
        # each row claimed by one dispatcher.
        self.scheduler = Scheduler(app.db.tz)
        self.jobs = Jobs(app.db.engine, self.scheduler)
        self.jobs.every(2, "outbox", self.dispatcher.run_once, single=False)
        # Every replica answers what a dead worker left (each row leased by one worker).
        self.jobs.every(5, "inbox", self.inbox.recover, single=False)
        self.jobs.every(10, "reroute", self.reroute)
        self.jobs.every(30, "reminders", self.queue_reminders)
        calendar = app.risk_rules.config.calendar
        self.jobs.every(calendar.sweep_minutes * 60, "risk_sweep", self.risk_sweep)
        self.jobs.every(30, "alert_follow_up", self.alerting.follow_up)
        self.jobs.every(3600, "inbox_cleanup", self.forget_old_claims)
        self.jobs.every(3600, "suitability_expiry", self.suitability_reminders)
        self.jobs.every(60, "approval_sla", lambda now=None: remind_overdue(self.app, now))
        self.jobs.daily(calendar.pre_open, "pre_open", self.pre_open)
        # Hourly, but it signs one checkpoint a day (every day: the log is written at weekends too),
        # so a service that was down at midnight catches up within the hour.
        self.jobs.every(3600, "audit_checkpoint", self.audit_checkpoint)

    def queue_reminders(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        with self.app.db.transaction() as session:
            return queue_due_reminders(
                session=session, now=now,
                address=lambda staff: address(staff, self.app.settings),
                text=lambda reminder: self.app.messages.t("reminder_due",
                                                          content=reminder.words(self.app.db.cipher)))

    def reroute(self, now: datetime | None = None) -> int:
        """Undeliverable notices (queued by a shell without platform settings, or for someone who
        had no chat id) are queued for the platform that now reaches their person; returns how many."""
        now = now or datetime.now(timezone.utc)
        with self.app.db.transaction() as session:
            moved = reroute(session=session, route=lambda staff: direct_channel(staff, self.app.settings), now=now)
            if moved:
                self.alerting.routed(session, moved, now)
        return len(moved)

    def after_ingest(self, kind: str, account_ids: list[int], now: datetime) -> None:
        """Called after new or changed rows of `kind` were committed for these accounts: margin
        data is evaluated at once, and what it raises is queued for delivery."""
        if kind in ("snapshots", "settlement") and account_ids:
            self.alerting.evaluate(account_ids=account_ids, now=now)

    def risk_sweep(self, now: datetime | None = None, *, force: bool = False) -> int:
        """The scheduled sweep: every account, during trading sessions (or whenever `force`)."""
        now = now or datetime.now(timezone.utc)
        local = now.astimezone(self.app.db.tz)
        if not force and not self.app.risk_rules.config.calendar.in_session(local.date(), local.time()):
            return 0
        return len(self.alerting.evaluate(now=now, actor="risk.sweep"))

    def suitability_reminders(self, now: datetime | None = None) -> int:
        """Reminders to managers whose clients' suitability assessments are about to expire."""

        with self.app.db.transaction() as session:
            return len(queue_expiry_reminders(session=session, now=now or datetime.now(timezone.utc),
                                              rules=self.app.suitability, text=self.app.messages.t))

    def forget_old_claims(self, now: datetime | None = None) -> int:
        with self.app.db.transaction() as session:
            return forget_old(session=session, now=now or datetime.now(timezone.utc))

    def pre_open(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        if not self.app.risk_rules.config.calendar.is_trading_day(now.astimezone(self.app.db.tz).date()):
            return 0
        return self.alerting.pre_open(now)

    def audit_checkpoint(self, now: datetime | None = None) -> int:
        """Once a business day: verify the audit chain, sign its head into audit_checkpoints and
        send SEQ:HASH to the compliance chats of channels.yaml (audit: true), who keep the copy
        outside the database that `brokerbot audit verify --anchor` checks. A broken chain is not
        signed: the compliance chats are told where it breaks instead. Returns the messages queued."""
        now = now or datetime.now(timezone.utc)
        day = now.astimezone(self.app.db.tz).date()
        with self.app.db.transaction() as session:
            newest = audit.newest_checkpoint(session=session)
            if newest is not None and newest.at.astimezone(self.app.db.tz).date() >= day:
                return 0
            count, broken = audit.verify(session=session)
            if broken is None:
                point = audit.checkpoint(session=session, now=now)
                text = self.app.messages.t("audit_checkpoint", anchor=point.anchor, entries=count,
                                           at=now.astimezone(self.app.db.tz).strftime("%Y-%m-%d %H:%M"))
            else:
                log.error("audit log broken at entry %s: %s", broken.entry_id, broken.reason)
                text = self.app.messages.t("audit_broken", entry=broken.entry_id, reason=broken.reason)
            queued = 0
            for channel in self.app.channels.for_audit():
                kind, target = channel.outbox
                queued += enqueue(session=session, channel=kind, target=target, now=now,
                                  reply=Reply(text, title=self.app.messages.t("audit_checkpoint_title")),
                                  purpose="audit_checkpoint", ref=f"audit:{day.isoformat()}:{channel.name}") is not None
        return queued

    def adapter(self, name: str, build):
        """The adapter `name` of this service, built by `build()` the first time it is asked for."""
        if name not in self.adapters:
            self.adapters[name] = build()
        return self.adapters[name]

    def start(self) -> None:
        for platform in registry.platforms():  # long connections (DingTalk Stream, Slack Socket Mode)
            platform.start(self)
        self.dispatcher.recover()  # what a killed predecessor had claimed goes out now
        self.inbox.recover(at_start=True)  # what a killed predecessor had accepted is answered now
        self.reroute()  # what was queued where no platform was configured goes out now
        self.scheduler.start()
        log.info("service started; senders: %s", ", ".join(sorted(self.senders)) or "none")

    def stop(self) -> None:
        for platform in registry.platforms():
            platform.stop(self)
        self.scheduler.shutdown()
        self.inbox.close()
        self.app.close()
        log.info("service stopped")
