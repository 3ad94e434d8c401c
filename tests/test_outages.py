"""Every answer the API gives is the truth while Temporal is unreachable.

The notifier talks to the time-skipping server through a gate (``tests.support.gate``) that the
test shuts, while the workers keep their own connection: each call is made during a real outage
(connection refused, then a reconnect), and its answer is checked against what happens once the
gate opens again and the bookings' time has passed:

- a call that returned is carried out exactly once (a booking accepted is delivered once, a
  cancel that returned is honoured with not a single reminder after it);
- a call that raised raised ``TemporalUnavailable`` with one line naming the server, and changed
  nothing;
- reading rows (``status``, ``list_notices``) needs no Temporal at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier, CancelResult, TemporalUnavailable
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import booking
from tests.support.gate import Gate, gated_client
from tests.support.stack import Stack, booking_stack, settings_for, telegram_channel

H = timedelta(hours=1)
SENT, CANCELLED, PENDING = NoticeStatus.SENT, NoticeStatus.CANCELLED, NoticeStatus.PENDING


@dataclass
class Outage:
    """The workers on the time-skipping server, and a notifier that reaches it through a gate."""

    stack: Stack
    gate: Gate
    notifier: BookingNotifier

    @property
    def down(self) -> str:
        """What every refused call says: the gate's address, one line."""
        return f"Temporal at {self.gate.address} is unreachable (cannot connect)"

    async def back(self) -> None:
        """Temporal answers again, and what was accepted meanwhile has reached it."""
        await self.gate.open()
        await self.notifier.flush()

    async def schedule(self, chat_id: int, *, reminders: Sequence[timedelta] = ()) -> int:
        """Schedule, through the gated notifier, a booking of the chat starting in three hours
        (on the server's clock)."""
        now = await self.stack.env.get_current_time()
        request = booking(3 * H, now=now, chat_id=chat_id, reminders=list(reminders))
        return await self.notifier.schedule(request)

    def texts(self, telegram: FakeTelegram, chat_id: int) -> list[str]:
        return [(m.text or "")[:1] for m in telegram.sent_to(chat_id)]


@pytest_asyncio.fixture
async def outage(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> AsyncIterator[Outage]:
    async with (
        booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as stack,
        gated_client(time_env.client) as (gate, client),
    ):
        notifier = _notifier_on(client, stack, db_url, task_queue)
        try:
            yield Outage(stack, gate, notifier)
        finally:
            if not gate.is_open:
                await gate.open()
            await notifier.close()


def _notifier_on(client: Client, stack: Stack, db_url: str, task_queue: str) -> BookingNotifier:
    prefix = settings_for(db_url, task_queue).workflow_id_prefix
    return BookingNotifier(client, stack.sessions, task_queue, id_prefix=prefix)


async def test_a_booking_scheduled_while_temporal_is_down_is_accepted_and_delivered_once(
    outage: Outage, telegram: FakeTelegram
) -> None:
    await outage.gate.shut()

    booking_id = await outage.schedule(71, reminders=[H])
    during = await outage.notifier.status(booking_id)
    await outage.back()
    after = await outage.notifier.status(booking_id)
    await outage.stack.result(booking_id)

    assert not during.started and [n.status for n in during.notices] == [PENDING] * 3
    assert after.started
    assert await outage.stack.statuses(booking_id) == {
        "reminder_1h": SENT,
        "start": SENT,
        "end": SENT,
    }
    assert outage.texts(telegram, 71) == ["⏰", "▶", "✅"]


async def test_a_batch_scheduled_while_temporal_is_down_is_accepted_whole_and_each_sent_once(
    outage: Outage, telegram: FakeTelegram
) -> None:
    now = await outage.stack.env.get_current_time()
    await outage.gate.shut()

    ids = await outage.notifier.schedule_many(
        [booking(2 * H, now=now, chat_id=80 + i, reminders=[], ref=f"r-{i}") for i in range(3)]
    )
    again = await outage.notifier.schedule_many(
        [booking(2 * H, now=now, chat_id=80 + i, reminders=[], ref=f"r-{i}") for i in range(3)]
    )
    await outage.back()
    for booking_id in ids:
        await outage.stack.result(booking_id)

    assert again == ids
    assert [outage.texts(telegram, 80 + i) for i in range(3)] == [["▶", "✅"]] * 3


async def test_a_cancel_while_temporal_is_down_is_final_and_announced_once_it_is_back(
    outage: Outage, telegram: FakeTelegram
) -> None:
    booking_id = await outage.schedule(72, reminders=[H])
    await outage.gate.shut()

    result = await outage.notifier.cancel(booking_id, reason="rain")
    view = await outage.notifier.status(booking_id)
    await outage.back()
    report = await outage.stack.result(booking_id)

    assert result is CancelResult.CANCELLED and view.cancelled_at is not None
    assert report.cancelled
    assert outage.texts(telegram, 72) == ["❌"]


async def test_a_cancel_in_the_callers_transaction_while_temporal_is_down_is_final(
    outage: Outage, telegram: FakeTelegram
) -> None:
    kept = await outage.schedule(73)
    dropped = await outage.schedule(74)
    await outage.gate.shut()

    async with outage.stack.sessions() as session, session.begin():
        rolled_back = await outage.notifier.cancel(kept, session=session)
        await session.rollback()
    async with outage.stack.sessions() as session, session.begin():
        committed = await outage.notifier.cancel(dropped, reason="closed", session=session)
    await outage.back()
    for booking_id in (kept, dropped):
        await outage.stack.result(booking_id)

    assert rolled_back is committed is CancelResult.CANCELLED
    assert (await outage.notifier.status(kept)).cancelled_at is None
    assert outage.texts(telegram, 73) == ["▶", "✅"]
    assert outage.texts(telegram, 74) == ["❌"]


async def test_a_move_while_temporal_is_down_is_refused_in_one_line_and_changes_nothing(
    outage: Outage, telegram: FakeTelegram
) -> None:
    now = await outage.stack.env.get_current_time()
    booking_id = await outage.schedule(75)
    before = await outage.notifier.status(booking_id)
    await outage.gate.shut()

    with pytest.raises(TemporalUnavailable) as refused:
        await outage.notifier.reschedule(booking_id, now + 5 * H, now + 6 * H)
    with pytest.raises(TemporalUnavailable) as plan:
        await outage.notifier.live_plan(booking_id)
    await outage.back()
    after = await outage.notifier.status(booking_id)
    await outage.stack.result(booking_id)

    assert str(refused.value) == str(plan.value) == outage.down
    assert after == before
    assert outage.texts(telegram, 75) == ["▶", "✅"]


async def test_rows_are_read_while_temporal_is_down(outage: Outage) -> None:
    booking_id = await outage.schedule(76)
    await outage.gate.shut()

    view = await outage.notifier.status(booking_id)
    listed = await outage.notifier.list_notices(chat_id=76)

    assert [n.key for n in view.notices] == [n.key for n in listed] == ["start", "end"]


async def test_reconcile_while_temporal_is_down_raises_and_finishes_once_it_is_back(
    outage: Outage, telegram: FakeTelegram
) -> None:
    await outage.gate.shut()
    booking_id = await outage.schedule(77)

    with pytest.raises(TemporalUnavailable) as refused:
        await outage.notifier.reconcile(older_than=timedelta(0))
    await outage.gate.open()
    await outage.notifier.reconcile(older_than=timedelta(0))  # races the background start
    await outage.notifier.flush()
    await outage.stack.result(booking_id)

    assert str(refused.value) == outage.down
    assert (await outage.notifier.status(booking_id)).started
    assert outage.texts(telegram, 77) == ["▶", "✅"]
