"""A booking stack for tests: the real worker and API on a given Temporal client and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier
from booking_notifications.channels import Channel
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking, Notification
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.settings import Settings
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import running_workers
from booking_notifications.workflows.types import BookingReport
from tests.support.bookings import booking
from tests.support.time_skipping import terminate_when_settled


@dataclass
class Stack:
    notifier: BookingNotifier
    sessions: Sessions
    env: WorkflowEnvironment
    task_queue: str

    async def book(
        self, start_in: timedelta, *args: timedelta, **fields: Any
    ) -> tuple[int, datetime]:
        """Schedule ``booking(start_in, ...)`` from the test server's clock: the booking's id,
        and that moment."""
        now = await self.env.get_current_time()
        return await self.notifier.schedule(booking(start_in, *args, now=now, **fields)), now

    async def rows(self, booking_id: int) -> dict[str, Notification]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(Notification).where(Notification.booking_id == booking_id)
            )
            return {row.key: row for row in found}

    async def has_rows(self, booking_id: int) -> bool:
        """Whether the booking has its notice rows yet (the API writes them as it schedules)."""
        return bool(await self.rows(booking_id))

    async def statuses(self, booking_id: int) -> dict[str, NoticeStatus]:
        return {key: row.status for key, row in (await self.rows(booking_id)).items()}

    def handle(self, booking_id: int) -> WorkflowHandle[Any, BookingReport]:
        return self.env.client.get_workflow_handle(
            self.notifier.workflow_id(booking_id), result_type=BookingReport
        )

    async def terminate(self, booking_ids: list[int]) -> None:
        """End workflows a test leaves sleeping: on the time-skipping server, a workflow task that
        no worker takes (its worker has stopped) stalls time skipping for every later test."""
        for booking_id in booking_ids:
            await self.handle(booking_id).terminate("test over")

    async def terminate_running(self) -> None:
        """Terminate every workflow of this stack's bookings that still runs (``time_skipping``)."""
        async with self.sessions() as session:
            booking_ids = list(await session.scalars(select(Booking.id)))
        for booking_id in booking_ids:
            await terminate_when_settled(self.env.client, self.notifier.workflow_id(booking_id))

    async def result(self, booking_id: int) -> BookingReport:
        """Wait for the booking's workflow to finish, letting the test server skip time."""
        handle = self.handle(booking_id)
        unlocked = getattr(self.env, "time_skipping_unlocked", None)
        if unlocked is None:
            return await handle.result()
        async with unlocked():
            return await handle.result()


def settings_for(db_url: str, task_queue: str) -> Settings:
    return Settings.model_validate(
        {
            "DATABASE_URL": db_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "WORKFLOW_ID_PREFIX": f"{task_queue}-",
            "TELEGRAM_BOT_TOKEN": None,
        }
    )


def telegram_channel(server: FakeTelegram) -> TelegramChannel:
    return TelegramChannel(server.token, server.url)


@asynccontextmanager
async def api_only(
    env: WorkflowEnvironment, db_url: str, task_queue: str, clock: Clock = utcnow
) -> AsyncIterator[Stack]:
    """The booking API (planning by ``clock``) and the database, without a worker."""
    engine = make_engine(db_url)
    sessions = make_sessions(engine)
    try:
        prefix = settings_for(db_url, task_queue).workflow_id_prefix
        notifier = BookingNotifier(env.client, sessions, task_queue, id_prefix=prefix, clock=clock)
        yield Stack(notifier, sessions, env, task_queue)
    finally:
        await engine.dispose()


@asynccontextmanager
async def booking_stack(
    env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    channel: Channel,
    clock: Clock = utcnow,
) -> AsyncIterator[Stack]:
    """The API plus both real workers, delivering through ``channel``.

    On the time-skipping server the stack leaves none of its workflows running (``time_skipping``).
    """
    async with (
        api_only(env, db_url, task_queue, clock) as stack,
        running_workers(env.client, settings_for(db_url, task_queue), channel),
    ):
        try:
            yield stack
        finally:
            if env.supports_time_skipping:
                await stack.terminate_running()


@asynccontextmanager
async def frozen_stack(
    env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> AsyncIterator[tuple[Stack, datetime]]:
    """``booking_stack`` sending to ``telegram``, its API's clock stopped at the server's time
    now, and that moment: what the API plans and records is what the test computes from it."""
    now = await env.get_current_time()
    channel = telegram_channel(telegram)
    async with booking_stack(env, db_url, task_queue, channel, clock=lambda: now) as stack:
        yield stack, now
