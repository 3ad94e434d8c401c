"""Events as booking code reads them: pages of the outbox in commit order, and redelivery.

A booking service that shares our database needs no HTTP at all: it keeps the ``seq`` of the
last event it handled and asks for what came after. ``seq`` is the commit order (see
``db.events``), so paging never skips or repeats an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from booking_notifications.api.requests import InvalidBooking
from booking_notifications.db import events
from booking_notifications.db.models import Event
from booking_notifications.db.session import Sessions

PAGE_LIMIT = 1000
"""The most events one call returns: a reader pages on with the last ``seq`` it got."""


@dataclass(frozen=True)
class EventView:
    """One event and where its webhook delivery stands (``delivered_at``, ``failed_at``)."""

    id: str
    seq: int
    type: str
    timestamp: datetime
    booking_id: int | None
    booking_ref: str | None
    user_ref: str | None
    notice: str | None
    data: dict[str, Any]
    attempts: int
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None

    @property
    def payload(self) -> dict[str, Any]:
        """The event as the webhook sends it (version 1)."""
        return {
            "v": events.VERSION,
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "timestamp": events.iso(self.timestamp),
            "booking_id": self.booking_id,
            "booking_ref": self.booking_ref,
            "user_ref": self.user_ref,
            "notice": self.notice,
            "data": self.data,
        }


ROW_NAMES = {"timestamp": "occurred_at", "notice": "notice_key"}
"""The view's fields that the row names otherwise; the rest have the row's names."""


def event_view(row: Event) -> EventView:
    values = {
        f.name: getattr(row, ROW_NAMES.get(f.name, f.name))
        for f in fields(EventView)
        if f.name != "id"
    }
    return EventView(id=events.public_id(row), **values | {"data": dict(row.data)})


async def page(sessions: Sessions, after: int, limit: int, *, failed: bool) -> list[EventView]:
    """See ``BookingNotifier.events``."""
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise InvalidBooking(f"after must be a seq (an integer >= 0), not {after!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= PAGE_LIMIT:
        raise InvalidBooking(f"limit must be 1 to {PAGE_LIMIT}, not {limit!r}")
    async with sessions() as session:
        return [event_view(row) for row in await events.after(session, after, limit, failed=failed)]


async def redeliver(
    sessions: Sessions, seqs: Sequence[int], now: datetime, window: timedelta
) -> int:
    """See ``BookingNotifier.redeliver``: the number of events queued again."""
    async with sessions() as session:
        result = await session.execute(
            update(Event)
            .where(Event.seq.in_(list(seqs)))
            .values(
                failed_at=None,
                delivered_at=None,
                attempts=0,
                next_attempt_at=None,
                retry_until=now + window,
                last_error=None,
            )
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
