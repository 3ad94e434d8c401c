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

A slot is a moment on the database's clock, and ``turn`` waits for it on this process's clock:
the two are matched as NTP matches clocks, from the quickest recent round trip, so the time a
take spends coming back (a commit, a busy event loop) does not make its send late. A send that
would still leave more than ``LATE`` after a slot queued behind others' (the event loop stalled,
the take came back after the slot had passed) does not go: it takes a later slot, as it would
otherwise crowd the sends of the next second past the rate.

The slot is computed after the row lock is taken (``clock_timestamp()`` on PostgreSQL,
``julianday('now')`` on SQLite, both read inside the UPDATE), so time spent waiting for another
process's turn never lets two slots come closer than the interval.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

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
LATE = MARGIN / 2
"""How long after its slot a send may still leave: the other half of ``MARGIN`` is the room for
what follows (the HTTP request on its way)."""
RETAKES = 2
"""Later slots a late send takes before it goes anyway (a loop too slow for any slot)."""
DRIFT = 1e-4
"""Seconds per second by which an older clock match is trusted less than a fresh one (clock
rates differ by parts per million; a stepped clock shows as a quick round trip disagreeing)."""
UNIX_EPOCH_JULIAN_DAY = 2440587.5


class Ahead(Exception):
    """The next slot is more than ``MAX_WAIT`` away; ``wait`` says how far."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the send rate is taken for the next {wait:.1f} s")
        self.wait = wait


@dataclass
class _Match:
    """The database's clock minus this process's monotonic clock, seen in one round trip."""

    offset: float
    error: float
    at: float


class SharedPacer:
    """Slots at ``rate`` per second for every process that paces by the same ``name``."""

    def __init__(self, sessions: Sessions, name: str, rate: float, max_wait: float = MAX_WAIT):
        self._sessions = sessions
        self.name = name
        self.interval = (1.0 + MARGIN) / rate
        self._max_wait = max_wait
        self._made = False
        self._match: _Match | None = None

    async def turn(self) -> None:
        """Wait for a slot of one's own, and return at it: then the send goes."""
        for retake in range(RETAKES + 1):
            slot, queued = await self._take()
            await asyncio.sleep(max(self._local(slot) - time.monotonic(), 0.0))
            late = time.monotonic() - self._local(slot) > LATE
            if not (late and queued) or retake == RETAKES:
                return

    async def take(self) -> float:
        """Take the next slot: the seconds to wait for it (0 when it is now); ``Ahead`` when it
        is further than ``max_wait``, and then no slot is taken."""
        _, wait = await self.take_slot()
        return wait

    async def take_slot(self) -> tuple[float, float]:
        """``take``, also saying when the slot is on the database's clock (exact, where a wait
        is only as good as the clocks' match)."""
        slot, _ = await self._take()
        return slot, max(self._local(slot) - time.monotonic(), 0.0)

    async def _take(self) -> tuple[float, bool]:
        """The next slot on the database's clock, and whether it was queued behind others' (a
        late send crowds only those: an idle pacer's slot is now, however late it leaves, and
        retaking it would add a write to every send of an overloaded worker)."""
        if not self._made:
            await self._make()
        async with self._sessions() as session:
            now = _clock(session)
            slot = case((Pacer.next_at > now, Pacer.next_at), else_=now)
            sent = time.monotonic()
            taken = (
                await session.execute(
                    update(Pacer)
                    .where(Pacer.name == self.name, Pacer.next_at <= now + self._max_wait)
                    .values(next_at=slot + self.interval)
                    .returning(Pacer.next_at - self.interval, now)
                )
            ).one_or_none()
            received = time.monotonic()
            if taken is None:
                ahead = await session.scalar(
                    select(Pacer.next_at - now).where(Pacer.name == self.name)
                )
                await session.commit()
                if ahead is None:  # the row went away (a truncated table): make it again
                    self._made = False
                    return await self._take()
                raise Ahead(ahead)
            await session.commit()
        slot_at, db_now = float(taken[0]), float(taken[1])
        self._learn(db_now, sent, received)
        return slot_at, slot_at > db_now

    def _learn(self, db_now: float, sent: float, received: float) -> None:
        """Match the clocks anew when this round trip was quicker than the last match's error
        (grown by ``DRIFT`` since)."""
        error = (received - sent) / 2
        match = self._match
        if match is None or error <= match.error + (received - match.at) * DRIFT:
            self._match = _Match(db_now - (sent + received) / 2, error, received)

    def _local(self, at: float) -> float:
        """The database's moment ``at`` on this process's monotonic clock."""
        assert self._match is not None  # matched by the take that gave ``at``
        return at - self._match.offset

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
