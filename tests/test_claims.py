"""An attempt the server timed out while it waited for its send's turn does not send after all.

Between claiming a notice (the row PROCESSING, its ``attempts`` counted) and the call to Telegram
lies the wait for a slot of the shared pacer, and on a saturated machine an attempt can stall
there past its heartbeat timeout. The server then starts the next attempt, which claims the row
again and sends: when the first one wakes, its claim is no longer the row's, and it must not send
too (Telegram has no idempotency key: two messages). These run the real activities, the real
pacer on both databases and aiogram against the fake Bot API; only the stall is staged, as a
pacer whose turns wait until the test lets them go.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from booking_notifications.activities.notices import NoticeActivities
from booking_notifications.activities.pacing import paced
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking
from booking_notifications.db.pacer import SharedPacer
from booking_notifications.db.session import Sessions
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.types import DeliveryOutcome
from tests.support.stack import telegram_channel
from tests.test_delivery import NOW, Delivery, make_delivery

KEY = "reminder_1h"


class HeldUp(SharedPacer):
    """The real pacer, each of whose turns first waits until the test lets it go."""

    def __init__(self, sessions: Sessions, turns: int) -> None:
        super().__init__(sessions, "claims", rate=30)
        self.waiting = [asyncio.Event() for _ in range(turns)]
        self.go = [asyncio.Event() for _ in range(turns)]
        self._turns = 0

    async def turn(self) -> None:
        n, self._turns = self._turns, self._turns + 1
        self.waiting[n].set()
        await self.go[n].wait()
        await super().turn()


@pytest_asyncio.fixture
async def chat(db_url: str) -> AsyncIterator[Delivery]:
    async with FakeTelegram(per_chat_rate=None) as telegram:  # a second send would go through
        async for delivery in make_delivery(db_url, telegram, 1001):
            yield delivery


@pytest_asyncio.fixture
async def held(chat: Delivery) -> AsyncIterator[tuple[NoticeActivities, HeldUp]]:
    pacer = HeldUp(chat.sessions, turns=2)
    channel = paced(telegram_channel(chat.telegram), pacer)
    try:
        yield NoticeActivities(chat.sessions, channel, clock=lambda: NOW), pacer
    finally:
        await channel.close()


async def first_stalled(
    chat: Delivery, activities: NoticeActivities, pacer: HeldUp
) -> tuple[asyncio.Future[DeliveryOutcome], ActivityEnvironment]:
    """Attempt 1 of the delivery running, its notice claimed and its send stalled before its
    turn (so the server times it out); and the environment of attempt 2, the retry."""
    first, retry = ActivityEnvironment(), ActivityEnvironment()
    retry.info = dataclasses.replace(first.info, attempt=2)
    stale = asyncio.ensure_future(first.run(activities.deliver, chat.request(KEY)))
    await pacer.waiting[0].wait()
    assert (await chat.row(KEY)).attempts == 1
    return stale, retry


async def test_a_timed_out_attempt_that_wakes_after_its_retry_sent_does_not_send_again(
    chat: Delivery, held: tuple[NoticeActivities, HeldUp]
) -> None:
    activities, pacer = held
    stale, retry = await first_stalled(chat, activities, pacer)
    pacer.go[1].set()
    sent = await retry.run(activities.deliver, chat.request(KEY))
    pacer.go[0].set()
    woken = await stale

    row = await chat.row(KEY)
    assert len(chat.telegram.sent) == 1
    assert sent.status is NoticeStatus.SENT and sent.message_id == chat.telegram.sent[0].message_id
    assert woken == sent  # what the row says: the stale attempt's result is thrown away anyway
    assert (row.status, row.attempts, row.telegram_message_id) == (
        NoticeStatus.SENT,
        2,
        sent.message_id,
    )


async def test_a_timed_out_attempt_that_wakes_while_its_retry_waits_leaves_the_send_to_it(
    chat: Delivery, held: tuple[NoticeActivities, HeldUp]
) -> None:
    activities, pacer = held
    stale, retry = await first_stalled(chat, activities, pacer)
    later = asyncio.ensure_future(retry.run(activities.deliver, chat.request(KEY)))
    await pacer.waiting[1].wait()  # both have claimed the row; the retry's claim is the row's
    pacer.go[0].set()
    with pytest.raises(ApplicationError, match="claimed again by a later attempt") as refused:
        await stale
    assert chat.telegram.sent == [] and (await chat.row(KEY)).status is NoticeStatus.PROCESSING
    pacer.go[1].set()
    sent = await later

    assert refused.value.type == "Superseded"
    assert refused.value.category is ApplicationErrorCategory.BENIGN  # no traceback in the log
    assert len(chat.telegram.sent) == 1 and sent.status is NoticeStatus.SENT
    assert (await chat.row(KEY)).attempts == 2


async def test_an_attempt_whose_booking_was_deleted_while_it_waited_sends_nothing(
    chat: Delivery, held: tuple[NoticeActivities, HeldUp]
) -> None:
    activities, pacer = held
    stale, _ = await first_stalled(chat, activities, pacer)
    async with chat.sessions() as session:
        await session.execute(delete(Booking).where(Booking.id == chat.booking_id))
        await session.commit()
    pacer.go[0].set()

    with pytest.raises(ApplicationError, match="row is gone") as refused:
        await stale
    assert refused.value.type == "Superseded" and chat.telegram.sent == []
