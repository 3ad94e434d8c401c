"""What a fault test measures and reports: notices, deliveries, duplicates, lateness, attempts.

Every test prints one ``FAULT <name>: ...`` line, appends it with its figures as a JSON line to
the file named by ``FAULT_REPORT`` (when set), and the line is repeated in pytest's summary.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking, Notification
from booking_notifications.db.session import Sessions
from booking_notifications.testing.fake_telegram import FakeTelegram

REPORTED: list[str] = []
"""The lines reported in this session, for the terminal summary."""


@dataclass(frozen=True)
class NoticeRow:
    """A notice row with its owner's chat, read once the fault is over."""

    booking_id: int
    key: str
    chat_id: int
    status: NoticeStatus
    due_at: datetime
    latest_at: datetime
    attempts: int
    telegram_message_id: int | None
    sent_at: datetime | None
    last_error: str | None


async def notice_rows(sessions: Sessions) -> list[NoticeRow]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Notification)
            .options(selectinload(Notification.booking).selectinload(Booking.user))
            .order_by(Notification.booking_id, Notification.key)
        )
        return [
            NoticeRow(
                r.booking_id,
                r.key,
                r.booking.user.chat_id or 0,  # fault tests schedule by chat id
                r.status,
                r.due_at,
                r.latest_at,
                r.attempts,
                r.telegram_message_id,
                r.sent_at,
                r.last_error,
            )
            for r in rows
        ]


async def status_counts(sessions: Sessions) -> Counter[NoticeStatus]:
    """How many notice rows are in each status (one cheap query, fit for polling)."""
    async with sessions() as session:
        result = await session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        )
        return Counter({status: count for status, count in result.all()})


@dataclass
class Deliveries:
    """What Telegram received against what the rows say should have been sent."""

    notices: int
    delivered: int
    """Notices with at least one message accepted by Telegram in their chat."""
    duplicates: int
    """Messages accepted beyond one per notice."""
    statuses: Counter[NoticeStatus]
    unrecorded: list[str]
    """SENT rows whose message id is not one Telegram gave in that chat."""
    lateness: list[float] = field(default_factory=list)
    """Seconds from each notice's due time to Telegram accepting its recorded message."""
    duplicated: dict[int, list[float]] = field(default_factory=dict)
    """Chats that got more messages than notices: the wall times Telegram accepted them."""

    @property
    def max_lateness(self) -> float:
        return max(self.lateness, default=0.0)

    @property
    def median_lateness(self) -> float:
        return statistics.median(self.lateness) if self.lateness else 0.0

    def figures(self, digits: int = 2, *, median: bool = False) -> dict[str, int | float]:
        """What every report records of the deliveries: lateness in seconds, to ``digits``."""
        figures: dict[str, int | float] = {
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "max_lateness_s": round(self.max_lateness, digits),
        }
        if median:
            figures["median_lateness_s"] = round(self.median_lateness, digits)
        return figures


def deliveries(rows: Sequence[NoticeRow], telegram: FakeTelegram) -> Deliveries:
    """Match the rows with the messages Telegram accepted (each test gives every chat its own
    notices, so a chat with more messages than notices has duplicates)."""
    by_chat: dict[int, list[NoticeRow]] = {}
    for row in rows:
        by_chat.setdefault(row.chat_id, []).append(row)
    delivered = duplicates = 0
    unrecorded: list[str] = []
    lateness: list[float] = []
    duplicated: dict[int, list[float]] = {}
    for chat_id, notices in by_chat.items():
        messages = {m.message_id: m for m in telegram.sent_to(chat_id)}
        delivered += min(len(messages), len(notices))
        duplicates += max(len(messages) - len(notices), 0)
        if len(messages) > len(notices):
            duplicated[chat_id] = [m.wall for m in messages.values()]
        for row in notices:
            if row.status is not NoticeStatus.SENT:
                continue
            message = messages.get(row.telegram_message_id)
            if message is None:
                unrecorded.append(f"{row.booking_id}/{row.key}")
                continue
            lateness.append(message.wall - row.due_at.timestamp())
    return Deliveries(
        notices=len(rows),
        delivered=delivered,
        duplicates=duplicates,
        statuses=Counter(r.status for r in rows),
        unrecorded=unrecorded,
        lateness=lateness,
        duplicated=duplicated,
    )


@dataclass(frozen=True)
class ClosedDelivery:
    """A ``deliver_notice`` activity that completed: its last attempt, and whose process ran it."""

    attempt: int
    pid: str
    """The process id from the worker identity (``<pid>@<host>``) that ran the last attempt."""


async def closed_deliveries(client: Client, workflow_ids: Iterable[str]) -> list[ClosedDelivery]:
    """Every completed ``deliver_notice`` activity of the workflows, read from their histories.

    Temporal writes an activity's started event (with its last attempt and that attempt's worker)
    only when the activity closes, a moment after the activity set its row SENT: a history read
    as the last rows turn SENT may not have those events yet (``FaultScene.deliveries`` waits).
    """
    closed = []
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        delivery: set[int] = set()
        started: dict[int, ClosedDelivery] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == "deliver_notice":
                    delivery.add(event.event_id)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs_started = event.activity_task_started_event_attributes
                started[attrs_started.scheduled_event_id] = ClosedDelivery(
                    attrs_started.attempt, attrs_started.identity.split("@", 1)[0]
                )
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
                if scheduled in delivery:
                    closed.append(started[scheduled])
    return closed


def busiest_second(walls: Sequence[float]) -> int:
    """The most of ``walls`` in any sliding one-second window (the window Telegram counts)."""
    ordered, most, start = sorted(walls), 0, 0
    for end, wall in enumerate(ordered):
        while ordered[start] <= wall - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def report(name: str, summary: str, **figures: Any) -> str:
    """Print ``FAULT <name>: <summary>`` and append it, with the figures, to ``$FAULT_REPORT``."""
    line = f"FAULT {name}: {summary}"
    print(line, flush=True)
    REPORTED.append(line)
    path = os.environ.get("FAULT_REPORT")
    if path:
        record = {"fault": name, "summary": line, **figures}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str, sort_keys=True) + "\n")
    return line
