"""Bringing Temporal in line with committed rows: starting booking workflows, signalling
cancels, and finishing what a crash or an outage cut short.

Rows are committed before a workflow starts (a workflow must find its rows), so there is always a
moment when a booking exists in SQL and not yet in Temporal. ``Starts`` closes it four ways:

- in our own transaction: commit, then start at once (``start_all``);
- in booking code's transaction: start once that session commits, forget on rollback
  (``after_commit``: a hook on the session, the starts run in the background);
- while Temporal is unreachable: what was committed is followed up in the background, retried
  with backoff until Temporal answers (``follow``), so a call never raises for work that is
  already accepted;
- after a crash in between: ``reconcile``, which the worker runs on a Temporal Schedule, starts
  what was committed and never started, and re-signals a cancel that never reached its workflow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, event, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, selectinload
from temporalio.exceptions import WorkflowAlreadyStartedError

from booking_notifications.api.runs import BookingRuns, WorkflowIdTaken
from booking_notifications.core.clock import Clock
from booking_notifications.core.domain import NoticeKind
from booking_notifications.db.models import Booking, Notification
from booking_notifications.db.session import Sessions
from booking_notifications.errors import is_database_outage, is_transient

log = logging.getLogger(__name__)

CONCURRENCY = 16
"""Workflow starts in flight at once for one batch."""
RETRY_FIRST, RETRY_MAX = 1.0, 30.0
"""Seconds between the tries of a follow-up while Temporal (or the database) is unreachable."""
CLOSE_GRACE = 5.0
"""How long ``close`` lets follow-ups finish before leaving them to ``reconcile``."""
RECONCILE_AFTER = timedelta(seconds=15)
"""Bookings planned more recently are left to the call that is starting them right now."""
_PENDING = "booking_notifications.pending_starts"
"""Where a caller's session keeps the bookings to start once it commits."""


class Starts:
    """Starts committed bookings' workflows on one task queue, with one database."""

    def __init__(self, runs: BookingRuns, sessions: Sessions, clock: Clock) -> None:
        self._runs = runs
        self._sessions = sessions
        self._clock = clock
        self._background: set[asyncio.Task[None]] = set()

    async def start_all(
        self, added: Sequence[tuple[Booking, bool]], started: Callable[[int], None] | None = None
    ) -> None:
        """Start the workflows of committed bookings (each with ``True`` when this call created
        it); one whose id is another booking's is removed if new, and ``WorkflowIdTaken`` raised
        once the others are started. Starts that Temporal is unreachable for are followed up in
        the background (``follow``): the bookings are accepted, their workflows start later."""
        limit = asyncio.Semaphore(CONCURRENCY)
        taken: list[WorkflowIdTaken] = []
        later: list[int] = []
        done = 0

        async def start(booking: Booking, new: bool) -> Booking | None:
            nonlocal done
            async with limit:
                try:
                    return await start_one(booking, new)
                finally:
                    done += 1
                    if started is not None:
                        started(done)

        async def start_one(booking: Booking, new: bool) -> Booking | None:
            if later:  # Temporal is unreachable: each start would wait out the SDK's retries
                later.append(booking.id)
                return None
            try:
                await self._runs.start(booking)
            except WorkflowIdTaken as err:
                taken.append(err)
                if new:
                    await self._delete(booking.id)
                return None
            except Exception as err:
                if not is_transient(err):
                    raise
                later.append(booking.id)
                return None
            return booking

        ran = await asyncio.gather(*(start(b, new) for b, new in added))
        if later:
            log.warning(
                "%d booking(s) accepted but not started yet (Temporal unreachable); "
                "starting them in the background",
                len(later),
            )
            self.follow(self.sync, later)
        await self._mark_or_leave([b for b in ran if b is not None])
        if taken:
            raise taken[0]

    def after_commit(self, session: AsyncSession, booking_ids: Sequence[int]) -> None:
        """Start these bookings' workflows once ``session`` commits; forget them on rollback."""
        sync = session.sync_session
        if _PENDING not in sync.info:
            event.listen(sync, "after_commit", _after_commit)
            event.listen(sync, "after_rollback", _after_rollback)
        pending: dict[Starts, list[int]] = sync.info.setdefault(_PENDING, {})
        pending.setdefault(self, []).extend(booking_ids)

    async def drain(self, within: float | None = None) -> None:
        """Wait for the follow-ups under way (on close, or in a test); with ``within``, those
        still waiting for Temporal after that many seconds are left to ``reconcile``."""
        if not self._background:
            return
        _, left = await asyncio.wait(set(self._background), timeout=within)
        if left:
            log.warning(
                "%d follow-up(s) still waiting for Temporal at close: reconcile finishes them",
                len(left),
            )
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    def follow(
        self, work: Callable[[Sequence[int]], Awaitable[Sequence[int]]], booking_ids: Sequence[int]
    ) -> None:
        """Run ``work(booking_ids)`` in the background until it is done: it returns the ids it
        could not do yet, and is called again for those, with backoff, while Temporal or the
        database is unreachable. Anything else is logged and left to ``reconcile``."""

        async def until_done() -> None:
            ids, delay = booking_ids, RETRY_FIRST
            while True:
                try:
                    ids = await work(ids)
                    if not ids:
                        return
                except Exception as err:
                    if not (is_transient(err) or is_database_outage(err)):
                        log.exception("a follow-up failed; reconcile will retry it")
                        return
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

        task = asyncio.get_running_loop().create_task(until_done())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def sync(self, booking_ids: Sequence[int]) -> list[int]:
        """Bring Temporal in line with the rows of these bookings: start a booking that never
        started, signal a cancelled one's workflow (starting it cancelled if need be). Returns
        the ids Temporal could not be reached for; idempotent."""
        bookings = await self._bookings(Booking.id.in_(booking_ids))
        done: list[Booking] = []
        for number, booking in enumerate(bookings):
            if booking.cancelled_at is None and booking.scheduled_at is not None:
                continue
            try:
                await self.sync_one(booking)
            except WorkflowIdTaken as err:
                log.error("booking %d not scheduled: %s", booking.id, err)
                continue
            except WorkflowAlreadyStartedError:
                pass  # its run has closed: the booking is over
            except Exception as err:
                if not is_transient(err):
                    raise
                await self.mark_scheduled(done)
                return [b.id for b in bookings[number:]]  # still down: no use trying the rest
            done.append(booking)
        await self.mark_scheduled(done)
        return []

    async def sync_one(self, booking: Booking) -> None:
        """Start the booking's workflow, or signal its cancel when its row is cancelled.

        ``WorkflowIdTaken`` when the id is another booking's; ``WorkflowAlreadyStartedError`` when
        a cancel comes after the run closed; the SDK's error while Temporal is unreachable.
        """
        cancel = booking.cancelled_at is not None
        if cancel:
            await self._runs.check_owned(booking)
        await self._runs.start(booking, cancel=cancel)

    async def reconcile(self, older_than: timedelta = RECONCILE_AFTER) -> list[int]:
        """Finish what a crash interrupted; returns the ids of the bookings it acted on.

        - a booking committed but never started gets its workflow, even once it is over: the
          workflow then skips each notice with a reason, so no row stays PENDING for ever;
        - a cancel committed but never heard by its workflow is signalled again.

        Only what is older than ``older_than`` is touched: younger work belongs to a call still
        under way. Idempotent. A booking whose workflow id is another booking's is left alone
        and named in the ``WorkflowIdTaken`` raised once everything else is done.
        """
        now = self._clock()
        cutoff = now - older_than
        unannounced = ~exists().where(
            Notification.booking_id == Booking.id, Notification.kind == NoticeKind.CANCEL
        )
        orphans = await self._bookings(
            Booking.scheduled_at.is_(None),
            Booking.cancelled_at.is_(None),
            func.coalesce(Booking.planned_at, Booking.created_at) < cutoff,
        )
        cancels = await self._bookings(
            Booking.cancelled_at < cutoff, Booking.ends_at > now, unannounced
        )
        taken: list[WorkflowIdTaken] = []
        done = []
        for booking in orphans + cancels:
            try:
                await self.sync_one(booking)
            except WorkflowIdTaken as err:
                log.error("booking %d not scheduled: %s", booking.id, err)
                taken.append(err)
                continue
            except WorkflowAlreadyStartedError:
                pass  # its run has closed: the booking is over
            done.append(booking)
        await self.mark_scheduled(done)
        if taken:
            raise WorkflowIdTaken(f"{len(taken)} booking(s) not scheduled; first: {taken[0]}")
        return [b.id for b in done]

    async def mark_scheduled(self, bookings: Sequence[Booking]) -> None:
        ids = [b.id for b in bookings if b.scheduled_at is None]
        if not ids:
            return
        async with self._sessions() as session:
            await session.execute(
                update(Booking)
                .where(Booking.id.in_(ids), Booking.scheduled_at.is_(None))
                .values(scheduled_at=self._clock())
            )
            await session.commit()

    async def _mark_or_leave(self, bookings: Sequence[Booking]) -> None:
        """``mark_scheduled``, unless the database is down: the workflows have started, and
        reconcile marks them when it finds them running (a start is idempotent)."""
        try:
            await self.mark_scheduled(bookings)
        except Exception as err:
            if not is_database_outage(err):
                raise
            log.warning("%d started booking(s) not marked yet: %s", len(bookings), err)

    async def _bookings(self, *conditions: ColumnElement[bool]) -> list[Booking]:
        """The bookings that meet ``conditions``, with their users (the workflow input needs
        them), in id order."""
        async with self._sessions() as session:
            query = select(Booking).options(selectinload(Booking.user)).where(*conditions)
            return list(await session.scalars(query.order_by(Booking.id)))

    async def _delete(self, booking_id: int) -> None:
        """Remove a booking that was refused before anyone could see it scheduled."""
        async with self._sessions() as session:
            await session.execute(delete(Notification).where(Notification.booking_id == booking_id))
            await session.execute(delete(Booking).where(Booking.id == booking_id))
            await session.commit()


def _after_commit(sync: Session) -> None:
    pending: dict[Starts, list[int]] = sync.info.get(_PENDING, {})
    for starts, booking_ids in pending.items():
        starts.follow(starts.sync, list(booking_ids))
    pending.clear()


def _after_rollback(sync: Session) -> None:
    sync.info.get(_PENDING, {}).clear()
