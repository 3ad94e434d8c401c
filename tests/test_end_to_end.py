"""End to end in real time: the dev server, the real worker, SQLite and PostgreSQL, and aiogram
over HTTP to a fake Bot API that enforces Telegram's limits (30/s overall, 1/s per chat).

Bookings here start seconds ahead, with reminders a few seconds before the start.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import CancelResult
from booking_notifications.api.bookings import save_booking
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking, Notification
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import booking
from tests.support.stack import Stack, api_only, booking_stack, telegram_channel
from tests.support.waiting import eventually

S = timedelta(seconds=1)
SENT, FAILED, SKIPPED = NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SKIPPED
PENDING = NoticeStatus.PENDING


@pytest.fixture
async def paced_telegram() -> FakeTelegram:  # type: ignore[misc]
    async with FakeTelegram() as server:
        yield server


async def all_final(stack: Stack, booking_id: int, count: int) -> bool:
    statuses = await stack.statuses(booking_id)
    return len(statuses) == count and all(s.final for s in statuses.values())


async def test_every_notice_of_a_booking_reaches_telegram_on_time(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, paced_telegram: FakeTelegram
) -> None:
    channel = telegram_channel(paced_telegram)
    async with booking_stack(dev_env, db_url, task_queue, channel) as s:
        request = booking(10 * S, 2 * S, reminders=[8 * S, 4 * S], title="Sauna", chat_id=77)
        booking_id = await s.notifier.schedule(request)
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert {k: r.status for k, r in rows.items()} == {
        "reminder_8s": SENT,
        "reminder_4s": SENT,
        "start": SENT,
        "end": SENT,
    }
    for row in rows.values():
        assert row.sent_at is not None and row.telegram_message_id is not None
        assert row.due_at <= row.sent_at <= row.latest_at
    sent = paced_telegram.sent_to(77)
    assert [r.message_id for r in sent] == sorted(
        m for r in rows.values() if (m := r.telegram_message_id) is not None
    )
    assert "Sauna" in (sent[0].text or "") and sent[0].parse_mode == "HTML"


async def test_a_cancelled_booking_gets_one_cancellation_and_nothing_after(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, paced_telegram: FakeTelegram
) -> None:
    channel = telegram_channel(paced_telegram)
    async with booking_stack(dev_env, db_url, task_queue, channel) as s:
        booking_id = await s.notifier.schedule(booking(4 * S, 1 * S, reminders=[2 * S], chat_id=78))
        assert await s.notifier.cancel(booking_id, reason="storm") is CancelResult.CANCELLED
        report = await s.result(booking_id)
        statuses = await s.statuses(booking_id)

    assert report.cancelled
    assert statuses == {
        "reminder_2s": NoticeStatus.CANCELLED,
        "start": NoticeStatus.CANCELLED,
        "end": NoticeStatus.CANCELLED,
        "cancel": SENT,
    }
    texts = [r.text or "" for r in paced_telegram.sent_to(78)]
    assert len(texts) == 1 and "cancelled" in texts[0] and "storm" in texts[0]


async def test_a_notice_whose_moment_passed_during_an_outage_is_skipped_not_sent_late(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, paced_telegram: FakeTelegram
) -> None:
    """No worker for 4 s: the 8 s reminder (due at +4 s, 2 s tolerance) is stale by then."""
    request = booking(12 * S, 2 * S, reminders=[8 * S], chat_id=79)
    channel = telegram_channel(paced_telegram)
    async with booking_stack(dev_env, db_url, task_queue, channel) as s:
        booking_id = await s.notifier.schedule(request)
        await eventually(lambda: s.has_rows(booking_id))
    outage_end = request.starts_at - 8 * S + 3 * S
    await _sleep_until(outage_end)
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(paced_telegram)) as s:
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert rows["reminder_8s"].status is SKIPPED
    assert "past its tolerance" in (rows["reminder_8s"].last_error or "")
    assert rows["start"].status is SENT and rows["end"].status is SENT
    assert len(paced_telegram.sent_to(79)) == 2


async def test_scheduling_the_same_booking_twice_starts_one_workflow(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with api_only(dev_env, db_url, task_queue) as s:
        request = booking(timedelta(hours=1), ref="order-17")
        first = await s.notifier.schedule(request)
        second = await s.notifier.schedule(request)
        handle = s.handle(first)
        await eventually(lambda: _listed(s, handle.id))
        runs = [w async for w in dev_env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
        await handle.terminate()

    assert second == first
    assert len(runs) == 1


async def test_the_notice_rows_exist_when_schedule_returns_before_any_worker_runs(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with api_only(dev_env, db_url, task_queue) as s:
        request = booking(timedelta(hours=3))
        booking_id = await s.notifier.schedule(request)
        rows = await s.rows(booking_id)
        async with s.sessions() as session:
            planned_at = (await session.get(Booking, booking_id)).planned_at  # type: ignore[union-attr]
        description = await s.handle(booking_id).describe()
        await s.handle(booking_id).terminate()

    start = request.starts_at.astimezone(UTC)
    assert {k: (r.status, r.due_at) for k, r in rows.items()} == {
        "reminder_24h": (SKIPPED, start - timedelta(hours=24)),
        "reminder_1h": (PENDING, start - timedelta(hours=1)),
        "start": (PENDING, start),
        "end": (PENDING, request.ends_at.astimezone(UTC)),
    }
    assert planned_at is not None and "too late when planned" in (
        rows["reminder_24h"].last_error or ""
    )
    assert description.status is WorkflowExecutionStatus.RUNNING


async def test_a_booking_written_before_planned_rows_gets_its_rows_from_the_workflow(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    """Bookings committed by an older API (no ``planned_at``, no rows) and started later by
    reconcile: the workflow writes the rows itself, as it always did."""
    async with booking_stack(dev_env, db_url, task_queue, ConsoleChannel()) as s:
        booking_row = await save_booking(s.sessions, booking(timedelta(hours=3)), datetime.now(UTC))
        async with s.sessions() as session:
            await session.execute(
                delete(Notification).where(Notification.booking_id == booking_row.id)
            )
            await session.execute(
                update(Booking).where(Booking.id == booking_row.id).values(planned_at=None)
            )
            await session.commit()
        await s.notifier.reconcile(older_than=timedelta(0))
        await eventually(lambda: s.has_rows(booking_row.id))
        statuses = await s.statuses(booking_row.id)
        await s.handle(booking_row.id).terminate()

    assert statuses == {
        "reminder_24h": SKIPPED,
        "reminder_1h": PENDING,
        "start": PENDING,
        "end": PENDING,
    }


async def _listed(stack: Stack, workflow_id: str) -> bool:
    found = [w async for w in stack.env.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    return bool(found)


async def _sleep_until(moment: datetime) -> None:
    import asyncio

    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0))


async def test_a_chat_that_blocked_the_bot_is_not_called_again_until_marked_reachable(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with FakeTelegram(blocked=[66]) as telegram:
        channel = telegram_channel(telegram)
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            first = await s.notifier.schedule(booking(2 * S, S, reminders=[], chat_id=66))
            await s.result(first)
            blocked_rows = await s.rows(first)
            calls_after_block = len(telegram.requests)

            second = await s.notifier.schedule(booking(2 * S, S, reminders=[], chat_id=66))
            await s.result(second)
            skipped_rows = await s.rows(second)
            calls_while_unreachable = len(telegram.requests) - calls_after_block

            telegram.blocked.clear()  # the user unblocks the bot and booking code learns of it
            assert await s.notifier.set_reachable(66) is True
            third = await s.notifier.schedule(booking(2 * S, S, reminders=[], chat_id=66))
            await s.result(third)
            third_rows = await s.rows(third)

    assert blocked_rows["start"].status is FAILED and blocked_rows["start"].attempts == 1
    assert "blocked" in (blocked_rows["start"].last_error or "")
    assert {r.status for r in skipped_rows.values()} == {SKIPPED}
    assert "unreachable" in (skipped_rows["start"].last_error or "")
    assert calls_while_unreachable == 0
    assert {r.status for r in third_rows.values()} == {SENT}


async def test_two_notices_for_one_chat_in_the_same_second_both_arrive(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, paced_telegram: FakeTelegram
) -> None:
    """Telegram allows one message per second per chat: the second waits exactly retry_after."""
    channel = telegram_channel(paced_telegram)
    start = datetime.now(UTC).replace(microsecond=0) + 4 * S
    async with booking_stack(dev_env, db_url, task_queue, channel) as s:
        requests = [
            booking(
                timedelta(0),
                timedelta(hours=1),
                now=start,
                reminders=[],
                end_notice=False,
                chat_id=55,
            )
            for _ in range(2)
        ]
        ids = await s.notifier.schedule_many(requests)
        for booking_id in ids:
            await eventually(functools.partial(all_final, s, booking_id, 1))
        rows = [(await s.rows(booking_id))["start"] for booking_id in ids]
        for booking_id in ids:
            await s.handle(booking_id).terminate()

    assert [r.status for r in rows] == [SENT, SENT]
    assert sorted(r.attempts for r in rows) == [1, 2]
    delivered = sorted(r.wall for r in paced_telegram.sent_to(55))
    assert len(delivered) == 2
    assert 1.0 <= delivered[1] - delivered[0] < 3.0  # retry_after is 1 s: one wait, not a storm
    assert paced_telegram.count(429) == 1
