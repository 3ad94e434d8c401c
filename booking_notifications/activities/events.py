"""The webhook relay: the outbox's pending events to booking code's receiver, in order per stream.

One activity runs at a time (its workflow is a singleton, ``workflows.events``) and works for
``RELAY_RUN`` before handing over, heartbeating: a killed worker's relay is picked up by another
process after the heartbeat timeout, and since an event is marked delivered only after its 2xx,
nothing is lost (what was in flight is sent again, with the same ``webhook-id``).

Each round sends the oldest pending event of every stream (a booking, or a user's own events)
whose next attempt is due, at most ``IN_FLIGHT`` at once; a stream's next event waits until the
one before it is delivered or finally failed, so events of one booking arrive in the order they
happened. A failure is retried with backoff (or after the receiver's ``Retry-After``) until the
retry window (``EVENTS_RETRY_FOR``) closes; a 4xx other than 408 and 429 is final at once.

The relay also prunes what is older than ``EVENTS_RETENTION``, once an hour.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from temporalio import activity

from booking_notifications.activities.heartbeats import heartbeating
from booking_notifications.api.events import event_view
from booking_notifications.channels.webhook import NotDelivered, Refused, WebhookSender
from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.core.durations import format_duration
from booking_notifications.db.models import Event
from booking_notifications.db.session import Sessions
from booking_notifications.observe.metrics import EventMetrics
from booking_notifications.workflows import activities as declared

log = logging.getLogger(__name__)

POLL = 0.5
"""Seconds between looks at the outbox when nothing was due (the latency of a new event)."""
BATCH = 200
"""Heads of streams taken per round."""
IN_FLIGHT = 8
"""Requests to the receiver at once: enough to drain a backlog, few enough to stay polite."""
FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(minutes=5)
PRUNE_EVERY = timedelta(hours=1)
PRUNE_BATCH = 5000


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 s doubling, at most 5 minutes."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)), LONGEST_RETRY)


def pending(table: Any = Event) -> ColumnElement[bool]:
    """Not yet delivered nor finally failed (``table``: ``Event`` or an alias of it)."""
    return and_(table.delivered_at.is_(None), table.failed_at.is_(None))


class EventRelay:
    """The relay's activity, with the worker's sessions and (when configured) its sender."""

    def __init__(
        self,
        sessions: Sessions,
        sender: WebhookSender | None,
        *,
        retry_for: timedelta,
        retention: timedelta,
        clock: Clock = utcnow,
        metrics: EventMetrics | None = None,
    ) -> None:
        """Without a ``sender`` (no ``EVENTS_WEBHOOK_URL``) the relay only prunes: the events
        stay readable as rows. ``metrics`` counts attempts and watches the oldest pending."""
        self._metrics = metrics or EventMetrics()
        self._sessions = sessions
        self._sender = sender
        self._retry_for = retry_for
        self._retention = retention
        self._clock = clock
        self._pruned_at: datetime | None = None

    @activity.defn(name=declared.RELAY_EVENTS)
    async def relay(self, run_for: float) -> None:
        """Relay for ``run_for`` seconds (less when the worker shuts down), then return."""
        ends = asyncio.get_running_loop().time() + run_for
        while asyncio.get_running_loop().time() < ends and not activity.is_worker_shutdown():
            activity.heartbeat()
            await heartbeating(self._prune())
            # A round with a slow receiver takes longer than the heartbeat timeout: it beats
            # each second, or a second relay would be started beside this one.
            sent = await heartbeating(self.round()) if self._sender is not None else 0
            if not sent:
                await asyncio.sleep(POLL)

    async def round(self) -> int:
        """Expire what outlived its window, then send each due stream's head; how many tried."""
        now = self._clock()
        heads = await self._heads(now)
        if not heads:
            return 0
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(event: Event) -> None:
            async with gate:
                await self._deliver(event)

        await asyncio.gather(*(one(event) for event in heads))
        return len(heads)

    async def _heads(self, now: datetime) -> list[Event]:
        """The oldest pending event of each stream, when its attempt is due."""
        earlier = aliased(Event)
        async with self._sessions() as session:
            expired = await session.execute(
                update(Event)
                .where(pending(), self._closed(now))
                .values(
                    failed_at=now,
                    last_error=func.coalesce(Event.last_error + "; ", "") + self._expired_reason(),
                )
            )
            await session.commit()
            if count := int(getattr(expired, "rowcount", 0) or 0):
                self._metrics.attempt("expired", count)
            oldest = await session.scalar(
                select(Event.occurred_at).where(pending()).order_by(Event.seq).limit(1)
            )
            self._metrics.oldest_pending(0.0 if oldest is None else (now - oldest).total_seconds())
            blocked = exists().where(
                earlier.stream == Event.stream,
                earlier.seq < Event.seq,
                pending(earlier),
            )
            due = or_(Event.next_attempt_at.is_(None), Event.next_attempt_at <= now)
            query = select(Event).where(pending(), due, ~blocked).order_by(Event.seq).limit(BATCH)
            return list(await session.scalars(query))

    def _closed(self, now: datetime) -> ColumnElement[bool]:
        """The events whose retry window has closed at ``now``."""
        return or_(
            and_(Event.retry_until.is_(None), Event.occurred_at <= now - self._retry_for),
            Event.retry_until <= now,
        )

    def _expired_reason(self) -> str:
        return f"not delivered within {format_duration(self._retry_for)} (EVENTS_RETRY_FOR)"

    async def _deliver(self, event: Event) -> None:
        """One attempt, and its outcome written to the row."""
        assert self._sender is not None
        view = event_view(event)
        body = json.dumps(view.payload, separators=(",", ":"), ensure_ascii=False)
        values: dict[str, object] = {"attempts": Event.attempts + 1}
        try:
            await self._sender.send(view.id, body, self._clock())
        except Refused as err:
            log.warning("event %s (%s) refused: %s; not retried", view.id, view.type, err)
            values |= {"failed_at": self._clock(), "last_error": str(err)}
            self._metrics.attempt("refused")
        except NotDelivered as err:
            values |= self._retry(event, err)
            self._metrics.attempt("expired" if "failed_at" in values else "retried")
        else:
            values |= {"delivered_at": self._clock(), "last_error": None}
            self._metrics.attempt("delivered")
        async with self._sessions() as session:
            await session.execute(update(Event).where(Event.seq == event.seq).values(**values))
            await session.commit()

    def _retry(self, event: Event, err: NotDelivered) -> dict[str, object]:
        """When to try again (or that the window has closed)."""
        now = self._clock()
        wait = backoff(event.attempts + 1)
        if err.retry_after is not None:
            wait = timedelta(seconds=err.retry_after)
        closes = event.retry_until or event.occurred_at + self._retry_for
        if now >= closes:
            log.warning("event evt_%s (%s) finally failed: %s", event.uid, event.type, err)
            return {"failed_at": now, "last_error": f"{err}; {self._expired_reason()}"}
        log.info(
            "event evt_%s not delivered, retried in %g s: %s", event.uid, wait.total_seconds(), err
        )
        # The last try is when the window closes; the next round then marks it failed.
        return {"next_attempt_at": min(now + wait, closes), "last_error": str(err)}

    async def _prune(self) -> None:
        """Delete events older than the retention, in batches, at most once an hour."""
        now = self._clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        while True:
            async with self._sessions() as session:
                oldest = (
                    select(Event.seq)
                    .where(Event.occurred_at < now - self._retention)
                    .order_by(Event.seq)
                    .limit(PRUNE_BATCH)
                )
                result = await session.execute(delete(Event).where(Event.seq.in_(oldest)))
                await session.commit()
            if not getattr(result, "rowcount", 0):
                return
