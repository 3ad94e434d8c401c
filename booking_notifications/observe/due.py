"""The one number that says reminders stopped: notices due but not sent.

PENDING or PROCESSING rows whose due time passed more than ``GRACE`` ago, counted in SQL every
``EVERY`` by each worker. It does not depend on anything the stopped part would report: a stopped
delivery queue, a dead worker, a database refusing writes or a refused token all leave rows
behind their due time, and any live worker (or the next one started) sees them.

The count uses ``ix_bn_notifications_status_due_at`` (status, due_at): two index range scans, one
per status, touching only the overdue rows, up to ``CAP`` each (BENCHMARKS.md has its cost and
plan at 1M rows on SQLite and PostgreSQL). Notices held
for a user who has not connected their Telegram yet are not overdue: they wait on purpose.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import ScalarSelect, Select, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from temporalio.common import MetricMeter

from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.core.domain import WAITING_FOR_USER, NoticeStatus
from booking_notifications.db.models import Notification
from booking_notifications.db.session import Sessions
from booking_notifications.observe.metrics import DUE_NOT_SENT

log = logging.getLogger(__name__)

GRACE = timedelta(minutes=1)
"""A notice this late is not merely in flight: sends take well under a second."""
EVERY = timedelta(seconds=15)
"""How often the count is taken: Prometheus's default scrape interval."""
UNSENT = (NoticeStatus.PENDING, NoticeStatus.PROCESSING)
CAP = 10_000
"""Counted up to this many a status: past it the number says nothing more than "stopped"."""


def due_not_sent(now: datetime, cap: int = CAP) -> Select[int]:
    """The count of notices due before ``now - GRACE`` and not sent yet, up to ``cap`` a status.

    One ordered, limited index range scan per status. A plain ``count(*)`` is planned by
    PostgreSQL as a sequential scan of the whole table: it takes status and due time for
    independent, so "PENDING" (every future notice) times "due before now" (most of the past)
    looks like a quarter of the table, while the rows that match are the handful overdue ones.
    Asked for them in index order with a limit, it walks the index and stops.
    """

    def overdue(status: NoticeStatus) -> ScalarSelect[int]:
        rows = (
            select(Notification.id)
            .where(Notification.status == status)
            .where(Notification.due_at < now - GRACE)
            .where(
                or_(Notification.last_error.is_(None), Notification.last_error != WAITING_FOR_USER)
            )
            .order_by(Notification.due_at)
            .limit(cap)
            .subquery()
        )
        return select(func.count()).select_from(rows).scalar_subquery()

    pending, processing = (overdue(status) for status in UNSENT)
    return select(pending + processing)


async def count_due_not_sent(sessions: Sessions, now: datetime) -> int:
    async with sessions() as session:
        return int(await session.scalar(due_not_sent(now)) or 0)


async def watch_due_not_sent(
    sessions: Sessions,
    meter: MetricMeter,
    every: timedelta = EVERY,
    clock: Clock = utcnow,
) -> None:
    """Keep the gauge up to date until cancelled.

    A failed count leaves the last value and logs once per outage: the database being down is
    /readyz's news, and a gauge dropping to 0 then would say "all sent" when nothing is known.
    """
    gauge = meter.create_gauge(
        DUE_NOT_SENT, "Notices due more than a minute ago and not sent (PENDING or PROCESSING)"
    )
    failing = False
    while True:
        try:
            gauge.set(await count_due_not_sent(sessions, clock()))
        except (SQLAlchemyError, OSError) as err:
            if not failing:
                log.warning("cannot count the notices due but not sent: %s", type(err).__name__)
            failing = True
        else:
            failing = False
        await asyncio.sleep(every.total_seconds())
