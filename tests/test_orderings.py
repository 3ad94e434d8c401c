"""Every ordering of events keeps the promises: a model-based test (hypothesis' state machine).

It drives the public API against the real workflow and worker on the time-skipping test server,
with SQLite and aiogram sending to the fake Bot API, through random interleavings of: schedule,
schedule in a transaction that rolls back or commits, a crash between the commit and the start,
cancel, reschedule, reconcile, time passing past reminders, starts and ends, a worker restart,
and Temporal unreachable (a gate the API's client goes through, shut) during a schedule, a cancel
or a reconcile. After every step, once the system is quiet, and at the end it checks:

- no notice other than the cancellation reaches a user after their cancel was accepted;
- every accepted, uncancelled booking has exactly one workflow, and each of its notices ends
  SENT, SKIPPED or FAILED (with a reason) once its moment and the retry window have passed;
- the rows agree with the workflow's plan, and what Telegram received agrees with the rows;
- what ``schedule``, ``cancel`` and ``reschedule`` return matches what happened.

``BOOKING_ORDERINGS`` sets the number of examples (CI runs a fixed, derandomized few; run it with
``BOOKING_ORDERINGS=200`` for a longer search).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier, CancelResult, TemporalUnavailable
from booking_notifications.api.bookings import save_booking
from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.api.runs import RunState
from booking_notifications.api.temporal import find_binary, register_search_attributes
from booking_notifications.core.domain import WAITING_FOR_USER, NoticeKind, NoticeStatus
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.models import Booking, Notification
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import running_workers
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import BookingReport
from tests.support.gate import Gate, gated_connect
from tests.support.stack import settings_for, telegram_channel

T = TypeVar("T")
H = timedelta(hours=1)
EXAMPLES = int(os.environ.get("BOOKING_ORDERINGS", "30"))
STEPS = 14
QUIET_WITHIN = 30.0
KIND_OF_TEXT = {
    "⏰": NoticeKind.REMINDER,
    "▶": NoticeKind.START,
    "✅": NoticeKind.END,
    "📅": NoticeKind.MOVED,
    "❌": NoticeKind.CANCEL,
}
FINAL_WITH_REASON = (NoticeStatus.SKIPPED, NoticeStatus.FAILED)
COMPLETED = WorkflowExecutionStatus.COMPLETED.value


@dataclass
class Modelled:
    """What the model expects of one accepted booking."""

    booking_id: int
    chat_id: int
    starts_at: datetime
    ends_at: datetime
    cancelled: bool = False
    sent_before_cancel: int | None = None
    """How many messages the fake Telegram had received when the cancel was accepted."""
    moves: int = 0
    user_ref: str | None = None
    """Set for a booking scheduled by the user's key: its notices wait until they connect."""
    connected: bool = True


@dataclass
class World:
    """What lives for the whole test: the time-skipping server, the fake Bot API, a loop."""

    loop: asyncio.AbstractEventLoop
    env: WorkflowEnvironment
    telegram: FakeTelegram
    folder: str
    gate: Gate
    gated: Client
    """A client of the same server through ``gate``: shut, Temporal is unreachable for it."""
    chats: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)


WORLD: World | None = None
SEEN: Counter[str] = Counter()
"""Which paths the runs took (printed at the end, with -s): what the search covered."""


def event(name: str) -> None:
    SEEN[name] += 1


class Orderings(RuleBasedStateMachine):
    """One example: a fresh database, task queue and worker on the shared servers."""

    bookings = Bundle("bookings")

    def __init__(self) -> None:
        super().__init__()
        assert WORLD is not None
        self.world = WORLD
        self.model: dict[int, Modelled] = {}
        self.world.run(self._open())

    async def _open(self) -> None:
        world = self.world
        self.queue = f"orderings-{uuid.uuid4().hex[:10]}"
        self.db_url = f"sqlite+aiosqlite:///{world.folder}/{self.queue}.db"
        self.engine = make_engine(self.db_url)
        await upgrade(self.engine)
        self.sessions = make_sessions(self.engine)
        self.now = await world.env.get_current_time()
        self.notifier, self.cut_off = (
            BookingNotifier(
                client,
                self.sessions,
                self.queue,
                id_prefix=f"{self.queue}-",
                clock=lambda: self.now,
            )
            for client in (world.env.client, world.gated)
        )
        self.workers: AsyncExitStack | None = None
        self.mark = len(world.telegram.sent)
        await self._start_workers()

    async def _start_workers(self) -> None:
        self.workers = AsyncExitStack()
        # No sticky cache: the time-skipping server never hands a query for a workflow cached
        # by a stopped worker to its successor; and every task then replays the history.
        settings = settings_for(self.db_url, self.queue).model_copy(update={"workflow_cache": 0})
        await self.workers.enter_async_context(
            running_workers(self.world.env.client, settings, telegram_channel(self.world.telegram))
        )

    def teardown(self) -> None:
        try:
            self.world.run(self._finish())
        finally:
            self.world.run(self._close())

    async def _close(self) -> None:
        if self.workers is not None:
            await self.workers.aclose()
        await self.notifier.close()
        await self.cut_off.close()
        await self.engine.dispose()

    # --- rules -------------------------------------------------------------------------------

    @rule(
        target=bookings,
        start_in=st.sampled_from([30 * 60, 2 * 3600, 20 * 3600, 30 * 3600]),
        hours=st.integers(1, 3),
        reminders=st.sampled_from([(), (H,), (24 * H, H), (30 * timedelta(minutes=1),)]),
        how=st.sampled_from(
            ["own", "committed session", "crash before start", "not connected", "temporal down"]
        ),
    )
    def schedule(
        self, start_in: int, hours: int, reminders: tuple[timedelta, ...], how: str
    ) -> int:
        chat_id = next(self.world.chats)
        starts_at = self.now + timedelta(seconds=start_in)
        user_ref = f"user-{chat_id}" if how == "not connected" else None
        request = BookingRequest(
            chat_id=None if user_ref else chat_id,
            user_ref=user_ref,
            starts_at=starts_at,
            ends_at=starts_at + hours * H,
            reminders=list(reminders),
        )

        async def schedule() -> int:
            if how in ("own", "not connected"):
                return await self.notifier.schedule(request)
            if how == "crash before start":  # committed; the process died before the start
                return (await save_booking(self.sessions, request, self.now)).id
            if how == "temporal down":  # accepted; it starts once Temporal answers
                return await self._while_down(self.cut_off.schedule(request))
            async with self.sessions() as session, session.begin():
                booking_id = await self.notifier.schedule(request, session=session)
            await self.notifier.flush()
            return booking_id

        booking_id = self.world.run(schedule())
        event(f"schedule: {how}")
        assert booking_id not in self.model, "a booking id was handed out twice"
        self.model[booking_id] = Modelled(
            booking_id,
            chat_id,
            starts_at,
            request.ends_at,
            user_ref=user_ref,
            connected=not user_ref,
        )
        self.world.run(self._quiet())
        return booking_id

    @rule(start_in=st.integers(1, 30))
    def schedule_and_roll_back(self, start_in: int) -> None:
        event("schedule and roll back")
        request = BookingRequest(
            chat_id=next(self.world.chats),
            starts_at=self.now + start_in * H,
            ends_at=self.now + (start_in + 1) * H,
        )

        async def roll_back() -> int:
            async with self.sessions() as session:
                booking_id = await self.notifier.schedule(request, session=session)
                await session.rollback()
            return booking_id

        booking_id = self.world.run(roll_back())
        assert self.world.run(self._row(booking_id)) is None
        assert booking_id not in self.model

    @rule(booking=bookings, temporal_down=st.booleans())
    def cancel(self, booking: int, temporal_down: bool) -> None:
        modelled = self.model[booking]
        row = self.world.run(self._row(booking))
        never_started = row is not None and row.scheduled_at is None
        if temporal_down:  # decided by SQL, the signal follows once Temporal answers
            result = self.world.run(self._while_down(self.cut_off.cancel(booking, reason="model")))
        else:
            result = self.world.run(self.notifier.cancel(booking, reason="model"))
        if modelled.cancelled:
            expected = CancelResult.ALREADY_CANCELLED
        elif self.now >= modelled.ends_at:
            expected = CancelResult.OVER
        else:
            expected = CancelResult.CANCELLED
        event(
            f"cancel: {result}"
            + (" (never started)" if never_started else "")
            + (" (Temporal down)" if temporal_down else "")
        )
        assert result is expected, f"cancel of {modelled} said {result}"
        if result is CancelResult.CANCELLED:
            modelled.cancelled = True
            modelled.sent_before_cancel = len(self.world.telegram.sent)
        self.world.run(self._quiet())

    @rule(booking=bookings, start_in=st.integers(-1, 40), hours=st.integers(1, 3))
    def reschedule(self, booking: int, start_in: int, hours: int) -> None:
        modelled = self.model[booking]
        starts_at = self.now + start_in * H + timedelta(minutes=7)
        ends_at = starts_at + hours * H
        refusal = (  # the times first, then the booking's state
            "is in the past"
            if starts_at <= self.now
            else "cancelled"
            if modelled.cancelled
            else "over"
            if self.now >= modelled.ends_at
            else None
        )
        try:
            report = self.world.run(self.notifier.reschedule(booking, starts_at, ends_at))
        except InvalidBooking as err:
            event(f"reschedule refused: {refusal}")
            assert refusal is not None and refusal in str(err), f"{modelled}: {err}"
        else:
            event("reschedule accepted")
            assert refusal is None, f"{modelled} moved although {refusal}"
            assert (report.starts_at, report.ends_at) == (starts_at, ends_at)
            modelled.starts_at, modelled.ends_at = starts_at, ends_at
            modelled.moves += 1
        self.world.run(self._quiet())

    @rule(booking=bookings)
    def connect(self, booking: int) -> None:
        """The booking's user opens a connect link: what waited for them goes out now."""
        modelled = self.model[booking]
        if modelled.user_ref is None or modelled.connected:
            return

        async def connect() -> None:
            self.notifier.people.bot_username = "orderings_bot"
            link = await self.notifier.people.link(str(modelled.user_ref))
            token = link.rpartition("=")[2]
            await self.notifier.people.connect(token, chat_id=modelled.chat_id, telegram_user_id=1)

        self.world.run(connect())
        modelled.connected = True
        event("connect")
        self.world.run(self._quiet())

    @rule()
    def reconcile(self) -> None:
        event("reconcile")
        self.world.run(self.notifier.reconcile(older_than=timedelta(0)))
        self.world.run(self._quiet())

    @rule()
    def reconcile_while_temporal_is_down(self) -> None:
        """Refused in our words while there is work for Temporal; nothing to do is no error."""
        try:
            done = self.world.run(self._while_down(self.cut_off.reconcile(older_than=timedelta(0))))
        except TemporalUnavailable as err:
            event("reconcile while Temporal is down: refused")
            assert (
                str(err) == f"Temporal at {self.world.gate.address} is unreachable (cannot connect)"
            )
        else:
            event("reconcile while Temporal is down: nothing to do")
            assert done == []
        self.world.run(self._quiet())

    @rule(hours=st.sampled_from([0.5, 1, 2, 6, 23, 30]))
    def time_passes(self, hours: float) -> None:
        event("time passes")
        self.world.run(self._advance(hours * H))

    @precondition(lambda self: self.workers is not None)
    @rule()
    def restart_the_worker(self) -> None:
        event("restart the worker")

        async def restart() -> None:
            assert self.workers is not None
            await self.workers.aclose()
            await self._start_workers()

        self.world.run(restart())
        self.world.run(self._quiet())

    @rule(booking=consumes(bookings))
    def forget(self, booking: int) -> None:
        """Let a booking drop out of the bundle, so later rules pick among fewer."""

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def nothing_but_the_cancellation_after_a_cancel(self) -> None:
        for modelled in self.model.values():
            if modelled.sent_before_cancel is None:
                continue
            after = [
                r
                for r in self.world.telegram.sent[modelled.sent_before_cancel :]
                if r.chat_id == modelled.chat_id
            ]
            kinds = [_kind(r.text) for r in after]
            assert set(kinds) <= {NoticeKind.CANCEL}, f"{modelled}: sent {kinds} after cancel"
            assert len(kinds) <= 1

    @invariant()
    def telegram_received_what_the_rows_say_was_sent(self) -> None:
        for modelled in self.model.values():
            rows = self.world.run(self._rows(modelled.booking_id))
            sent = sorted(r.kind for r in rows if r.status is NoticeStatus.SENT)
            received = sorted(
                _kind(r.text)
                for r in self.world.telegram.sent[self.mark :]
                if r.chat_id == modelled.chat_id
            )
            assert received == sent, f"{modelled}: Telegram got {received}, rows say {sent}"

    # --- helpers -----------------------------------------------------------------------------

    async def _while_down(self, call: Coroutine[Any, Any, T]) -> T:
        """Make ``call`` with Temporal unreachable, then let Temporal answer again and wait for
        what the call left to follow in the background."""
        await self.world.gate.shut()
        try:
            return await call
        finally:
            await self.world.gate.open()
            await self.cut_off.flush()

    async def _advance(self, duration: timedelta) -> None:
        await self.world.env.sleep(duration)
        self.now = await self.world.env.get_current_time()
        await self._quiet()

    async def _quiet(self) -> None:
        """Wait until every workflow has done what is due and the rows mirror its plan."""
        await self.notifier.flush()
        self.now = await self.world.env.get_current_time()
        for booking_id in self.model:
            await _eventually(functools.partial(self._agrees, booking_id), f"booking {booking_id}")

    async def _agrees(self, booking_id: int) -> bool:
        row = await self._row(booking_id)
        assert row is not None, f"booking {booking_id} lost its row"
        state = await self.notifier._runs.state(row)
        if state is RunState.NONE:
            return True  # committed, never started: reconcile's (or a cancel's) to start
        report = await self._report(booking_id, state)
        rows = {r.key: r for r in await self._rows(booking_id)}
        due = [  # due and not sent; one waiting for its user to connect is as quiet as it gets
            n
            for n in report.notices
            if n.status is NoticeStatus.PENDING
            and n.due_at <= self.now
            and n.reason != WAITING_FOR_USER
        ]
        plan = {n.key: (n.status, n.due_at) for n in report.notices}
        mirror = {k: (r.status, r.due_at) for k, r in rows.items()}
        return not due and plan == mirror

    async def _report(self, booking_id: int, state: RunState) -> BookingReport:
        handle = self.notifier._runs.handle(booking_id)
        if state is RunState.RUNNING:
            return await handle.query(BookingWorkflow.status)
        return await handle.result()

    async def _status(self, booking_id: int) -> int:
        """The run's raw status (``handle.describe()`` cannot decode an unset search attribute
        on the time-skipping server)."""
        client = self.world.env.client
        description = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=self.notifier.workflow_id(booking_id)),
            )
        )
        return description.workflow_execution_info.status

    async def _row(self, booking_id: int) -> Booking | None:
        async with self.sessions() as session:
            return await session.get(Booking, booking_id)

    async def _rows(self, booking_id: int) -> list[Notification]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(Notification).where(Notification.booking_id == booking_id)
            )
            return list(found)

    async def _finish(self) -> None:
        """The reconcile Schedule's work, then time past every booking and its retry window."""
        await self.notifier.reconcile(older_than=timedelta(0))
        await self._quiet()
        last_end = max((m.ends_at for m in self.model.values()), default=self.now)
        await self._advance(max(last_end - self.now, timedelta(0)) + 3 * H)
        for modelled in self.model.values():
            row = await self._row(modelled.booking_id)
            assert row is not None
            assert await self._status(modelled.booking_id) == COMPLETED, modelled
            for notice in await self._rows(modelled.booking_id):
                if notice.status in FINAL_WITH_REASON:
                    assert notice.last_error, f"{modelled}: {notice.key} without a reason"
                elif modelled.cancelled and notice.status is NoticeStatus.CANCELLED:
                    continue
                else:
                    assert notice.status is NoticeStatus.SENT, (modelled, notice.key, notice.status)
            cancels = [
                n for n in await self._rows(modelled.booking_id) if n.kind is NoticeKind.CANCEL
            ]
            announced = NoticeStatus.SENT if modelled.connected else NoticeStatus.SKIPPED
            assert [n.status for n in cancels] == ([announced] if modelled.cancelled else [])


def _kind(text: str | None) -> NoticeKind:
    for mark, kind in KIND_OF_TEXT.items():
        if (text or "").startswith(mark):
            return kind
    raise AssertionError(f"a message of no known kind: {text!r}")


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + QUIET_WITHIN
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: never quiet within {QUIET_WITHIN} s")
        await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_ordering_keeps_the_promises() -> None:
    global WORLD
    loop = asyncio.new_event_loop()

    async def start() -> World:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(find_binary("temporal-test-server"))
        )
        await register_search_attributes(env.client)
        telegram = FakeTelegram(per_chat_rate=None, global_rate=None)
        await telegram.start()
        gate = Gate(env.client.service_client.config.target_host)
        await gate.open()
        gated = await gated_connect(gate, env.client)
        return World(loop, env, telegram, tempfile.mkdtemp(prefix="orderings-"), gate, gated)

    WORLD = loop.run_until_complete(start())
    SEEN.clear()
    try:
        run_state_machine_as_test(
            Orderings,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=EXAMPLES <= 30,
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.verbose
                if os.environ.get("BOOKING_ORDERINGS_VERBOSE")
                else Verbosity.normal,
            ),
        )
        print(
            f"\n{EXAMPLES} examples; steps taken: "
            + ", ".join(f"{k} {v}" for k, v in sorted(SEEN.items()))
        )
    finally:
        loop.run_until_complete(WORLD.gate.shut())
        loop.run_until_complete(WORLD.telegram.stop())
        loop.run_until_complete(WORLD.env.shutdown())
        loop.close()
        WORLD = None
