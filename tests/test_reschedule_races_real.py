"""A move landing while the start notice is being delivered, with the real activities and SQL.

The delivery is held before it reads its row (the real ``_deliver`` waits) or after it read it
and before it sends (the channel waits); the move, sent meanwhile, waits for it (the workflow's
lock), so the old start goes out as read, then the move notice and the start re-armed for the
new time. ``test_reschedule_races`` covers the same and more with stub activities."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.activities.heartbeats import Progress
from booking_notifications.activities.notices import NoticeActivities
from booking_notifications.channels import Keyboard
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.types import DeliveryOutcome, DeliveryRequest
from tests.histories.record import moved_in_first_task
from tests.support.bookings import booking
from tests.support.stack import Stack, booking_stack, telegram_channel
from tests.support.waiting import eventually
from tests.test_reschedule_races import moves_accepted

pytestmark = pytest.mark.backends("sqlite")

SENT = NoticeStatus.SENT
LENGTH = timedelta(minutes=30)
MOVED_BY = timedelta(seconds=20)
START_IN = timedelta(minutes=10)


class HeldChannel:
    """The fake Telegram, holding the first send until released (the row already read)."""

    def __init__(self, inner: TelegramChannel, hold: bool) -> None:
        self._inner = inner
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self._held = not hold

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int:
        if not self._held:
            self._held = True
            self.reached.set()
            await self.release.wait()
        return await self._inner.send(chat_id, text, keyboard)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


@pytest.mark.parametrize("held", ["before the read", "after the read"])
async def test_a_move_while_the_start_is_in_flight_tells_the_user_and_starts_them_anew(
    time_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    held: str,
) -> None:
    channel = HeldChannel(telegram_channel(telegram), hold=held == "after the read")
    reached, release = asyncio.Event(), asyncio.Event()
    original: Callable[[NoticeActivities, DeliveryRequest, Progress], Awaitable[DeliveryOutcome]]
    original = NoticeActivities._deliver

    async def deliver(
        self: NoticeActivities, request: DeliveryRequest, progress: Progress
    ) -> DeliveryOutcome:
        if held == "before the read" and request.key == "start" and not reached.is_set():
            reached.set()
            await release.wait()
        return await original(self, request, progress)

    monkeypatch.setattr(NoticeActivities, "_deliver", deliver)
    if held == "after the read":
        reached, release = channel.reached, channel.release
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, channel) as s:  # type: ignore[arg-type]
        request = booking(START_IN, LENGTH, now=now, reminders=[], end_notice=False)
        booking_id = await s.notifier.schedule(request)
        await time_env.sleep(START_IN)
        await asyncio.wait_for(reached.wait(), 10)
        new_start = request.starts_at + MOVED_BY
        moving = asyncio.create_task(
            s.notifier.reschedule(booking_id, new_start, new_start + LENGTH)
        )
        await eventually(
            lambda: moves_accepted(s.handle(booking_id)), within=10
        )  # waits for the lock
        release.set()
        await asyncio.wait_for(moving, 20)
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    texts = [(r.text or "")[:1] for r in telegram.sent]
    assert {k: (r.status, r.last_error) for k, r in rows.items()} == {
        "start": (SENT, None),
        "moved_1": (SENT, None),
        "start.1": (SENT, None),
    }
    assert texts == ["▶", "📅", "▶"]


async def test_a_move_in_the_first_task_is_sent_and_the_start_follows_it_end_to_end(
    time_env: WorkflowEnvironment, time_stack: Stack, telegram: FakeTelegram
) -> None:
    """The Temporal fault test's lost booking: its move reached the run's first task with its
    start. The user is told at once and gets the start at the new time."""
    s = time_stack
    booking_id = await moved_in_first_task(time_env, s)
    report = await s.result(booking_id)
    rows = await s.rows(booking_id)
    view = await s.notifier.status(booking_id)

    assert {k: (r.status, r.last_error) for k, r in rows.items()} == {
        "start": (SENT, None),
        "end": (SENT, None),
        "moved_1": (SENT, None),
    }
    assert rows["start"].due_at == view.starts_at == report.starts_at
    assert rows["end"].due_at == view.ends_at == report.ends_at
    texts = [r.text or "" for r in telegram.sent]
    assert [t[:1] for t in texts[:2]] == ["📅", "▶"] and len(texts) == 3
