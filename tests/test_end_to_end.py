"""End to end in real time: the dev server, the real worker, SQLite and PostgreSQL, and aiogram
over HTTP to a fake Bot API that enforces Telegram's limits (30/s overall, 1/s per chat).

Bookings here start seconds ahead, with reminders a few seconds before the start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.fake_telegram import FakeTelegram
from booking_notifications.workflows.types import NoticeStatus
from tests.stack import Stack, api_only, booking, booking_stack, eventually, telegram_channel

S = timedelta(seconds=1)
SENT, FAILED, SKIPPED = NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SKIPPED


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
    assert [r.message_id for r in sent] == sorted(r.telegram_message_id for r in rows.values())
    assert "Sauna" in (sent[0].text or "") and sent[0].parse_mode == "HTML"


async def test_a_cancelled_booking_gets_one_cancellation_and_nothing_after(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, paced_telegram: FakeTelegram
) -> None:
    channel = telegram_channel(paced_telegram)
    async with booking_stack(dev_env, db_url, task_queue, channel) as s:
        booking_id = await s.notifier.schedule(booking(4 * S, 1 * S, reminders=[2 * S], chat_id=78))
        assert await s.notifier.cancel(booking_id, reason="storm") is True
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
        await eventually(lambda: _has_rows(s, booking_id))
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


async def _has_rows(stack: Stack, booking_id: int) -> bool:
    return bool(await stack.rows(booking_id))


async def _listed(stack: Stack, workflow_id: str) -> bool:
    found = [w async for w in stack.env.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    return bool(found)


async def _sleep_until(moment: datetime) -> None:
    import asyncio

    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0))
