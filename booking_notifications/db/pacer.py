"""One send rate for all the worker processes of a deployment, kept in the database.

Temporal's task-queue rate limit (``max_task_queue_activities_per_second``) stays the ceiling of
the delivery queue, but it is a token bucket holding a second's worth of tasks: at the start of a
burst it hands out up to twice the rate in one sliding second, and its tasks reach Telegram
through workers whose sends take varying time. Telegram counts sliding seconds and answers the
excess with 429, and repeated floods with longer waits for the whole bot.

The pacer smooths within that ceiling. Each send first takes the next slot from one row
(``bn_pacers``, one per task queue): the row's ``next_at`` moves on by one interval, on the
database's clock, and the sender waits until its slot. The interval is ``(1 + MARGIN) / rate``,
so any ``rate`` consecutive sends span at least a second and ``MARGIN``, whichever processes send
them: a send that leaves up to ``MARGIN`` late (a busy event loop, a slower connection) still
lands in a sliding second with room for it. The cost is one short UPDATE per send, and a pace
of ``1 / (1 + MARGIN)`` (95 %) of the rate during a burst.

The slot is computed after the row lock is taken (``clock_timestamp()`` on PostgreSQL,
``julianday('now')`` on SQLite, both read inside the UPDATE), so time spent waiting for another
process's turn never lets two slots come closer than the interval.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Double, case, cast, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking_notifications.db.models import Pacer
from booking_notifications.db.session import Sessions

MARGIN = 0.05
"""Seconds by which ``rate`` consecutive slots exceed one second (see the module docstring)."""
MAX_WAIT = 10.0
"""The furthest slot a send waits for (a third of a delivery attempt's 30 s); further ahead
(after a 429's ``retry_after``), ``take`` says ``Ahead`` and the attempt gives its worker slot back."""
UNIX_EPOCH_JULIAN_DAY = 2440587.5


class Ahead(Exception):
    """The next slot is more than ``MAX_WAIT`` away; ``wait`` says how far."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the send rate is taken for the next {wait:.1f} s")
        self.wait = wait


class SharedPacer:
    """Slots at ``rate`` per second for every process that paces by the same ``name``."""

    def __init__(self, sessions: Sessions, name: str, rate: float, max_wait: float = MAX_WAIT):
        self._sessions = sessions
        self.name = name
        self.interval = (1.0 + MARGIN) / rate
        self._max_wait = max_wait
        self._made = False

    async def take(self) -> float:
        """Take the next slot: the seconds to wait for it (0 when it is now); ``Ahead`` when it
        is further than ``max_wait``, and then no slot is taken."""
        if not self._made:
            await self._make()
        async with self._sessions() as session:
            now = _clock(session)
            slot = case((Pacer.next_at > now, Pacer.next_at), else_=now)
            wait = await session.scalar(
                update(Pacer)
                .where(Pacer.name == self.name, Pacer.next_at <= now + self._max_wait)
                .values(next_at=slot + self.interval)
                .returning(Pacer.next_at - self.interval - now)
            )
            if wait is None:
                ahead = await session.scalar(
                    select(Pacer.next_at - now).where(Pacer.name == self.name)
                )
                await session.commit()
                if ahead is None:  # the row went away (a truncated table): make it again
                    self._made = False
                    return await self.take()
                raise Ahead(ahead)
            await session.commit()
        return max(float(wait), 0.0)

    async def hold(self, seconds: float) -> None:
        """Give no slot for the next ``seconds``: Telegram asked the whole bot to wait (429)."""
        async with self._sessions() as session:
            until = _clock(session) + seconds
            await session.execute(
                update(Pacer)
                .where(Pacer.name == self.name, Pacer.next_at < until)
                .values(next_at=until)
            )
            await session.commit()

    async def _make(self) -> None:
        """The row, made by whichever process paces first (the others find it there)."""
        async with self._sessions() as session:
            exists = await session.scalar(select(Pacer.name).where(Pacer.name == self.name))
            if exists is None:
                try:
                    await session.execute(insert(Pacer).values(name=self.name, next_at=0.0))
                    await session.commit()
                except IntegrityError:
                    await session.rollback()  # another process made it first
        self._made = True


def _clock(session: AsyncSession) -> ColumnElement[float]:
    """The database's clock in seconds since the epoch, read when the statement runs."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Double)
    return (func.julianday("now") - UNIX_EPOCH_JULIAN_DAY) * 86400.0
