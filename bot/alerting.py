"""Risk alerts reach people: evaluation after ingestion and in sweeps, routing to the manager
and the group chats of channels.yaml, digests in storms, re-notification, escalation to the
supervisor, the pre-open digest, and the evidence of every notice.

Every message goes through the outbox (written in the same transaction as the alert change,
so a crash never leaves an alert without its notices or a notice without its alert) and every
notice is an AlertNotification row pointing at the outbox row that carried it. A person no
platform reaches (a shell without platform settings, a manager without a chat id) still gets
their notice queued, as undeliverable with the reason; the service sends it once a platform
reaches them (Service.reroute), and only then does the alert count as told to them.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.routing import address
from crm_core.base import utcnow
from crm_core.clients import Client
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.risk.alerts import (
    ACTIVE,
    SEVERITY,
    Alert,
    AlertKind,
    AlertLevel,
    AlertNotification,
    AlertStatus,
)
from crm_core.risk.watch import Change, evaluate
from crm_core.staff import Role, Staff
from intents.format import money, percent, when
from intents.handlers.alerts import label_key
from messaging.replies import Choice, Reply
from notifiers.outbox import UNROUTED, enqueue, occurrence_ref

log = logging.getLogger("brokerbot.alerts")
WORST = 10  # accounts named in a digest


@dataclass(frozen=True)
class Recipient:
    key: str  # a staff login, or "#" + a channel name: the evidence's recipient
    channel: str  # outbox channel
    target: str
    person: bool
    reason: str | None = None  # why no platform reaches this person: the notice waits, undeliverable


@dataclass
class Item:
    event: str
    alert: Alert
    previous: AlertLevel | None = None


@dataclass
class Batch:
    """Notices waiting to be written, grouped by recipient (digests are per recipient)."""

    items: dict[Recipient, list[Item]] = field(default_factory=lambda: defaultdict(list))

    def add(self, recipient: Recipient | None, item: Item) -> None:
        if recipient is not None:
            self.items[recipient].append(item)


class Alerting:
    def __init__(self, app):
        self.app = app
        self.config = app.risk_rules.config

    # -- entry points (each one transaction) -------------------------------------------------
    def evaluate(self, *, account_ids: list[int] | None = None, now: datetime | None = None,
                 actor: str = "risk") -> list[Change]:
        now = now or utcnow()
        with self.app.db.transaction() as session:
            changes = evaluate(session=session, rules=self.app.risk_rules, now=now, account_ids=account_ids,
                               actor=actor)
            self.announce(session, changes, now)
        return changes

    def announce(self, session: Session, changes: list[Change], now: datetime) -> int:
        if not changes:
            return 0
        people = self._people(session, [c.alert for c in changes])
        batch = Batch()
        told = self._told(session, people, [c.alert.id for c in changes if c.event == "resolved"])
        for change in changes:
            item = Item(change.event, change.alert, change.previous)
            if change.event == "resolved":  # announced where the alert was
                for recipient in told.get(change.alert.id, []):
                    batch.add(recipient, item)
                continue
            batch.add(self._manager(people, change.alert), item)
            for recipient in self._groups(people, change.alert):
                batch.add(recipient, item)
        return self._write(session, batch, people, now)

    def follow_up(self, now: datetime | None = None) -> int:
        """Re-notify unacknowledged alerts and escalate overdue margin calls and force closes.
        Each alert is claimed: locked (FOR UPDATE SKIP LOCKED on PostgreSQL: an alert another
        replica is following up is skipped, not waited for) and marked (escalated_at,
        last_notified_at) in the transaction that queues its notices, so however many replicas
        run this, and however long the database stalls under them, each notice is queued once."""
        now = now or utcnow()
        with self.app.db.transaction() as session:
            query = select(Alert).where(Alert.kind == AlertKind.risk,
                                        Alert.status.in_([AlertStatus.open, AlertStatus.notified])).order_by(Alert.id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=Alert)
            active = list(session.scalars(query))
            if not active:
                return 0
            people = self._people(session, active)
            batch = Batch()
            waiting = self._waiting(session, [a.id for a in active])
            renotify = timedelta(minutes=self.config.renotify_minutes)
            for alert in active:
                minutes = self.config.escalate_after_minutes.get(alert.level)
                if minutes is not None and alert.escalated_at is None and alert.level_at + timedelta(minutes=minutes) <= now:
                    alert.escalated_at = now
                    item = Item("escalation", alert)
                    batch.add(self._supervisor(people, alert), item)
                    for recipient in self._groups(people, alert):
                        batch.add(recipient, item)
                elif alert.last_notified_at is not None and alert.last_notified_at + renotify <= now:
                    manager = self._manager(people, alert)
                    if manager is not None and manager.reason and (alert.id, manager.key) in waiting:
                        continue  # one undeliverable reminder waiting for them is enough
                    batch.add(manager, Item("renotify", alert))
            return self._write(session, batch, people, now)

    def pre_open(self, now: datetime | None = None) -> int:
        """The pre-open digest: unmet margin calls and force closes, to each manager and the groups,
        once a day each: the digest's outbox ref is "pre_open:<business day>:<recipient>", so a
        second run that day (another replica, a restart) queues nothing."""
        now = now or utcnow()
        day = now.astimezone(self.app.db.tz).date().isoformat()
        with self.app.db.transaction() as session:
            unmet = list(session.scalars(select(Alert).where(
                Alert.kind == AlertKind.risk, Alert.status.in_(ACTIVE),
                Alert.level.in_([AlertLevel.margin_call, AlertLevel.force_close])).order_by(Alert.id)))
            if not unmet:
                return 0
            people = self._people(session, unmet)
            batch = Batch()
            for alert in unmet:
                item = Item("pre_open", alert)
                batch.add(self._manager(people, alert), item)
                for recipient in self._groups(people, alert):
                    batch.add(recipient, item)
            return self._write(session, batch, people, now, digest_always=True,
                               ref=lambda recipient: occurrence_ref("pre_open", day, recipient.key))

    # -- who -----------------------------------------------------------------------------------
    def _people(self, session: Session, alerts: list[Alert]) -> "People":
        client_ids = {a.client_id for a in alerts}
        clients: dict[int, Client] = {}
        ids = sorted(client_ids)
        for start in range(0, len(ids), 5000):
            for client in session.scalars(select(Client).where(Client.id.in_(ids[start:start + 5000]))):
                clients[client.id] = client
        staff = {s.id: s for s in session.scalars(select(Staff).where(Staff.active.is_(True)))}
        return People(clients, staff)

    def _person(self, staff: Staff | None) -> Recipient | None:
        if staff is None:
            return None
        channel, target, reason = address(staff, self.app.settings)
        if reason is not None:
            log.warning("staff %s cannot be reached (%s): alert notice kept as undeliverable", staff.login, reason)
        return Recipient(staff.login, channel, target, True, reason)

    def _manager(self, people: "People", alert: Alert) -> Recipient | None:
        return self._person(people.manager(alert))

    def _supervisor(self, people: "People", alert: Alert) -> Recipient | None:
        manager = people.manager(alert)
        supervisor = people.staff.get(manager.supervisor_id) if manager and manager.supervisor_id else None
        if supervisor is None:  # no supervisor on file: the risk officers
            risk = [s for s in people.staff.values() if s.role == Role.risk]
            supervisor = risk[0] if risk else None
        return self._person(supervisor)

    def _groups(self, people: "People", alert: Alert) -> list[Recipient]:
        channels = self.app.channels
        if alert.kind == AlertKind.large_transfer:
            chosen = [c for c in channels.channels
                      if self.config.large_transfer and c.name in self.config.large_transfer.channels]
        else:
            manager = people.manager(alert)
            team = manager.team.name if manager is not None and manager.team is not None else None
            chosen = channels.for_alert(alert.level.value, team)
        return [group_recipient(c) for c in chosen]

    def _told(self, session: Session, people: "People", alert_ids: list[int]) -> dict[int, list[Recipient]]:
        """Where each alert was announced (for its resolution): the same groups, and the same
        people wherever they are reached now."""
        logins = {s.login: s for s in people.staff.values()}
        told: dict[int, list[Recipient]] = defaultdict(list)
        for start in range(0, len(alert_ids), 5000):
            rows = session.execute(
                select(AlertNotification.alert_id, AlertNotification.recipient, OutboxMessage.channel,
                       OutboxMessage.target)
                .join(OutboxMessage, OutboxMessage.id == AlertNotification.outbox_id)
                .where(AlertNotification.alert_id.in_(alert_ids[start:start + 5000])).distinct())
            for alert_id, key, channel, target in rows:
                if key.startswith("#"):
                    recipient = Recipient(key, channel, target, False)
                elif key in logins:
                    recipient = self._person(logins[key])
                else:  # no longer active: where they were told, if they were
                    recipient = Recipient(key, channel, target, True) if channel != UNROUTED else None
                if recipient is not None and recipient not in told[alert_id]:
                    told[alert_id].append(recipient)
        return told

    # -- what ------------------------------------------------------------------------------------
    def _write(self, session: Session, batch: Batch, people: "People", now: datetime,
               digest_always: bool = False, ref: Callable[[Recipient], str] | None = None) -> int:
        """Queue the batch's notices with their evidence. With `ref` (a digest's per-occurrence
        key), a recipient whose digest is queued already gets nothing more."""
        evidence, sent = [], 0
        for recipient, items in batch.items.items():
            if digest_always or len(items) > self.config.digest_after:
                messages = [(self._digest(items, people, now), items, True)]
            else:
                messages = [(self._single(item, people, recipient.person), [item], False) for item in items]
            for reply, covered, digest in messages:
                row = enqueue(session=session, channel=recipient.channel, target=recipient.target, reply=reply,
                              purpose="alert", now=now, unrouted=recipient.reason,
                              ref=ref(recipient) if ref is not None else None)
                if row is None:
                    break
                sent += 1
                evidence.extend({"alert_id": item.alert.id, "event": item.event, "recipient": recipient.key,
                                 "outbox_id": row.id, "digest": digest, "created_at": now} for item in covered)
            if row is None:  # queued already by an earlier run of this occurrence
                continue
            if recipient.reason is not None:  # not told yet: Service.reroute marks it when it goes
                continue
            for item in items:
                alert = item.alert
                if alert.status == AlertStatus.open and item.event != "resolved":
                    alert.status = AlertStatus.notified
                if recipient.person and item.event in ("opened", "escalated", "renotify"):
                    alert.last_notified_at = now
        if evidence:
            session.execute(insert(AlertNotification), evidence)
        return sent

    def _waiting(self, session: Session, alert_ids: list[int]) -> set[tuple[int, str]]:
        """(alert id, recipient) of notices still undeliverable."""
        waiting: set[tuple[int, str]] = set()
        for start in range(0, len(alert_ids), 5000):
            rows = session.execute(
                select(AlertNotification.alert_id, AlertNotification.recipient)
                .join(OutboxMessage, OutboxMessage.id == AlertNotification.outbox_id)
                .where(AlertNotification.alert_id.in_(alert_ids[start:start + 5000]),
                       OutboxMessage.status == OutboxStatus.unrouted))
            waiting.update((alert_id, recipient) for alert_id, recipient in rows)
        return waiting

    def routed(self, session: Session, outbox_ids: list[int], now: datetime) -> None:
        """Undeliverable notices just queued for a platform: their alerts now count as told to
        that person (notified, and re-notified after renotify_minutes from now)."""
        for start in range(0, len(outbox_ids), 5000):
            rows = session.execute(select(Alert, AlertNotification.event)
                                   .join(AlertNotification, AlertNotification.alert_id == Alert.id)
                                   .where(AlertNotification.outbox_id.in_(outbox_ids[start:start + 5000])))
            for alert, event in rows:
                if event == "resolved":
                    continue
                if alert.status == AlertStatus.open:
                    alert.status = AlertStatus.notified
                if event in ("opened", "escalated", "renotify"):
                    alert.last_notified_at = now

    def t(self, key: str, **values) -> str:
        return self.app.messages.t(key, "zh", **values)

    def _label(self, alert: Alert) -> str:
        return self.t(label_key(alert))

    def _figures(self, alert: Alert) -> str:
        tz = self.app.db.tz
        parts = []
        if alert.risk_degree is not None:
            parts.append(self.t("alert_risk", value=percent(alert.risk_degree)))
        if alert.exchange_risk_degree is not None:
            parts.append(self.t("alert_exchange_risk", value=percent(alert.exchange_risk_degree)))
        lines = ["，".join(parts)] if parts else []
        money_line = [self.t("alert_equity", value=money(alert.balance)),
                      self.t("alert_available", value=money(alert.available))]
        if alert.margin_call:
            money_line.append(self.t("alert_margin_call", value=money(alert.margin_call)))
        lines.append("，".join(money_line))
        if alert.kind == AlertKind.equity_drop:
            lines.append(self.t("alert_equity_drop", value=f"{alert.note}%"))
        elif alert.kind == AlertKind.large_transfer:
            what, _, amount = (alert.note or "").partition(":")
            lines.append(self.t(f"alert_transfer_{what}", value=money(Decimal(amount))))
        if alert.data_time is not None:
            lines.append(self.t("alert_data_time", value=when(alert.data_time, tz)))
        return "\n".join(lines)

    def _single(self, item: Item, people: "People", person: bool) -> Reply:
        alert, client = item.alert, people.clients.get(item.alert.client_id)
        name = client.name if client is not None else "?"
        head = self.t(f"alert_event_{item.event}", label=self._label(alert), id=alert.id, client=name,
                      account=alert.account.account_no,
                      previous=self.t(f"level_{item.previous.value}") if item.previous else "",
                      manager=people.manager_name(alert))
        if item.event == "resolved":
            return Reply(f"{head}\n{self._figures(alert)}")
        if not person:  # a group robot cannot hear an answer
            return Reply(f"{head}\n{self._figures(alert)}")
        text = f"{head}\n{self._figures(alert)}\n{self.t('alert_ack_hint', id=alert.id)}"
        return Reply(text, choices=[Choice(self.t("alert_ack_button"), f"收到 #{alert.id}")])

    def _digest(self, items: list[Item], people: "People", now: datetime) -> Reply:
        counts: dict[str, int] = defaultdict(int)
        for item in items:
            counts[self._label(item.alert)] += 1
        worst = sorted(items, key=lambda i: (-SEVERITY[i.alert.level], -(i.alert.risk_degree or 0), i.alert.id))
        lines = [self.t(f"alert_digest_{'pre_open' if items[0].event == 'pre_open' else 'head'}",
                        count=len(items), counts="，".join(f"{k} {v}" for k, v in counts.items()))]
        for item in worst[:WORST]:
            client = people.clients.get(item.alert.client_id)
            lines.append(self.t("alert_digest_line", id=item.alert.id, client=client.name if client else "?",
                                account=item.alert.account.account_no, label=self._label(item.alert),
                                event=self.t(f"alert_digest_event_{item.event}"),
                                risk=percent(item.alert.risk_degree) if item.alert.risk_degree is not None else "-"))
        if len(items) > WORST:
            lines.append(self.t("alert_digest_more", more=len(items) - WORST))
        lines.append(self.t("alert_digest_hint"))
        return Reply("\n".join(lines))


@dataclass
class People:
    clients: dict[int, Client]
    staff: dict[int, Staff]

    def manager(self, alert: Alert) -> Staff | None:
        client = self.clients.get(alert.client_id)
        return self.staff.get(client.manager_id) if client is not None and client.manager_id else None

    def manager_name(self, alert: Alert) -> str:
        manager = self.manager(alert)
        return manager.name if manager is not None else "-"


def group_recipient(channel) -> Recipient:
    """The outbox address of a channels.yaml group chat."""
    return Recipient(f"#{channel.name}", *channel.outbox, False)
