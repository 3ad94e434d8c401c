"""What every fault test sets up: the API in the test process, workers as child processes, and
bookings in real time with one notice each, in chats of their own.

``fault_scene`` always forgets the test's workflows at the end (they would sleep until their
bookings end) and deletes the reconcile Schedule its workers created.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.requests import BookingRequest
from booking_notifications.core.domain import NoticeStatus
from tests.faults.figures import (
    ClosedDelivery,
    NoticeRow,
    closed_deliveries,
    notice_rows,
    status_counts,
)
from tests.faults.processes import forget_workflows, start_worker
from tests.support.bookings import booking
from tests.support.processes import Child, Children
from tests.support.stack import Stack, api_only
from tests.support.waiting import eventually

LENGTH = timedelta(minutes=30)
"""Long enough that a start notice may run 15 minutes late: outages here are measured in seconds."""


def start_notice_only(start_in: timedelta, *, now: datetime, chat_id: int) -> BookingRequest:
    """A booking starting ``start_in`` after ``now`` whose only notice is the start notice.

    Its tolerance is 15 minutes, so a fault of seconds can delay it but never make it stale: any
    notice not sent is a lost one.
    """
    return booking(start_in, LENGTH, now=now, chat_id=chat_id, reminders=[], end_notice=False)


@dataclass
class FaultScene:
    """One fault test's stack, and the workflows of the bookings it scheduled."""

    stack: Stack
    children: Children
    db_url: str
    telegram_url: str
    workflow_ids: list[str] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.stack.env.client

    async def start_worker(self, **settings: str) -> Child:
        """``booking-notify worker`` sending to the scene's Telegram, once it polls its queues."""
        return await start_worker(
            self.children,
            self.client,
            db_url=self.db_url,
            task_queue=self.stack.task_queue,
            telegram_url=self.telegram_url,
            **settings,
        )

    async def schedule(self, requests: Sequence[BookingRequest]) -> None:
        booking_ids = await self.stack.notifier.schedule_many(list(requests))
        self.workflow_ids += [self.stack.notifier.workflow_id(b) for b in booking_ids]

    def counted(self, status: NoticeStatus, count: int) -> Callable[[], Awaitable[bool]]:
        """A check for ``eventually``: whether ``count`` notice rows are in ``status``."""

        async def check() -> bool:
            return (await status_counts(self.stack.sessions))[status] == count

        return check

    async def rows(self) -> list[NoticeRow]:
        return await notice_rows(self.stack.sessions)

    async def deliveries(self, within: float = 30) -> list[ClosedDelivery]:
        """The scene's deliveries, read once one has closed for every notice row that is SENT."""
        closed: list[ClosedDelivery] = []

        async def all_closed() -> bool:
            nonlocal closed
            sent = (await status_counts(self.stack.sessions))[NoticeStatus.SENT]
            closed = await closed_deliveries(self.client, self.workflow_ids)
            return len(closed) >= sent

        await eventually(all_closed, within=within)
        return closed

    async def attempts(self) -> list[int]:
        """The attempt on which each delivery of the scene's bookings finished (1 = no retry)."""
        return [delivery.attempt for delivery in await self.deliveries()]


async def stopped_cleanly(worker: Child) -> None:
    """SIGTERM the worker and require a clean exit."""
    assert await worker.stop(signal.SIGTERM) == 0, worker.tail()


@asynccontextmanager
async def fault_scene(
    env: WorkflowEnvironment, db_url: str, task_queue: str, children: Children, telegram_url: str
) -> AsyncIterator[FaultScene]:
    async with api_only(env, db_url, task_queue) as stack:
        scene = FaultScene(stack, children, db_url, telegram_url)
        try:
            yield scene
        finally:
            await forget_workflows(env.client, scene.workflow_ids, f"{task_queue}-")
