"""Where an answer goes, the same for every platform: one function owns the group-privacy rule
("a private answer asked in a group goes to a direct message, with a note in the group"), the
outbox enqueue and the dispatcher's wake-up; another queues direct messages to staff members
(notify_via, bot.routing). Adapters only say how their platform addresses a message (`queue`)."""
from __future__ import annotations

import logging
from typing import Callable

from bot.events import ChatEvent
from bot.routing import address
from crm_core.staff import Staff
from intents.context import Notify
from intents.rules import language_of
from messaging.replies import Reply
from notifiers.outbox import enqueue

log = logging.getLogger("brokerbot.delivery")

# (session, target, reply): queue one message on the event's platform. The target is the asker's
# user id (a direct message) or the event's chat_id (where it was asked).
Queue = Callable[[object, str, Reply], None]


def deliver(service, event: ChatEvent, reply: Reply, *, queue: Queue | None = None, to: str | None = None) -> None:
    """Queues the answer to `event` and wakes the dispatcher. A private reply (a client's figures)
    asked in a group goes to the asker's direct chat, and the group is told so. `to` sends it
    elsewhere (e.g. a refused card click: to the clicker alone)."""
    queue = queue or plain(event.platform)
    with service.app.db.transaction() as session:
        for target, message in destinations(event, reply, service.app.messages, to=to):
            queue(session, target, message)
    service.dispatcher.run_once()


def destinations(event: ChatEvent, reply: Reply, texts, *, to: str | None = None) -> list[tuple[str, Reply]]:
    """The group-privacy rule: (target, message) pairs for the answer to `event`. A private reply
    asked in a group goes to the asker (their user id), and the group (its chat id) reads a note."""
    where = to or event.chat_id or event.user_id
    if to is None and event.chat_type == "group" and reply.private:
        note = texts.t("answered_in_dm", language_of(event.text) or "zh")
        return [(event.user_id, reply), (where, Reply(note))]
    return [(where, reply)]


def plain(platform: str) -> Queue:
    """Queue to the platform's outbox channel, target as given."""
    def queue(session, target: str, reply: Reply) -> None:
        enqueue(session=session, channel=platform, target=target, reply=reply)
    return queue


def direct_notifier(session, settings, now=None) -> Notify:
    """notify(staff, reply, purpose=, ref=): a direct message to a staff member through the outbox,
    queued in `session`'s transaction, on the platform bot.routing.direct_channel names; when none
    reaches them it is kept undeliverable with the reason (sent once one does) and this says False."""
    def notify(staff: Staff, reply: Reply, *, purpose: str = "notice", ref: str | None = None) -> bool:
        channel, target, reason = address(staff, settings)
        if reason is not None:
            log.warning("%s cannot be reached (%s); %s message kept until they can", staff.login, reason, purpose)
        enqueue(session=session, channel=channel, target=target, reply=reply, purpose=purpose, ref=ref, now=now,
                unrouted=reason)
        return reason is None
    return notify
