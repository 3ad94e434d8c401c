"""A burst under Telegram's limits, through the whole stack on the dev server.

300 notices come due in the same second; 5 of the chats blocked the bot. The delivery queue's
server-side rate limit (30/s) paces the sends: 295 arrive exactly once, the 5 blocked ones fail
after one attempt each, and the server reports the worker's 30/s as the queue's limit in force.

How fast the burst drains is printed, not asserted: it depends on the machine (on a starved CPU
the 4 delivery slots bind before the limit does); ``python -m bench`` measures it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import RateLimitSource, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.activities import delivery_task_queue
from tests.support.bookings import booking
from tests.support.stack import Stack, booking_stack, telegram_channel
from tests.support.waiting import eventually

COUNT, BLOCKED, CAP = 300, 5, 30
FIRST_CHAT = 10_000


async def test_300_notices_due_in_one_second_arrive_once_under_the_server_side_limit(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    chats = list(range(FIRST_CHAT, FIRST_CHAT + COUNT))
    blocked = set(chats[:: COUNT // BLOCKED][:BLOCKED])
    telegram = FakeTelegram(blocked=blocked)
    async with (
        telegram,
        booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s,
    ):
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=25)
        requests = [
            booking(timedelta(0), timedelta(hours=1), now=due, chat_id=chat, reminders=[], end_notice=False)
            for chat in chats
        ]  # fmt: skip
        ids = await s.notifier.schedule_many(requests)
        assert datetime.now(UTC) < due, "scheduling took longer than the lead time"
        await eventually(lambda: _all_final(s), within=90)
        rows = {booking_id: (await s.rows(booking_id))["start"] for booking_id in ids}
        limit = await _rate_limit_in_force(dev_env.client, delivery_task_queue(task_queue))
        for booking_id in ids:
            await s.handle(booking_id).terminate()

    statuses = Counter(row.status for row in rows.values())
    delivered = Counter(r.chat_id for r in telegram.sent)
    sent_times = [r.wall for r in telegram.sent]
    drain = max(sent_times) - due.timestamp()
    rejected_429 = telegram.count(429)
    failed_attempts = [row.attempts for row in rows.values() if row.status is NoticeStatus.FAILED]
    print(
        f"BURST {COUNT} due at once, {BLOCKED} blocked: {statuses[NoticeStatus.SENT]} sent, "
        f"{statuses[NoticeStatus.FAILED]} failed, drained in {drain:.1f} s "
        f"({statuses[NoticeStatus.SENT] / drain:.1f}/s), {rejected_429} × 429, "
        f"{sum(n - 1 for n in delivered.values())} duplicates"
    )
    assert limit == (CAP, RateLimitSource.RATE_LIMIT_SOURCE_WORKER)
    assert statuses == {NoticeStatus.SENT: COUNT - BLOCKED, NoticeStatus.FAILED: BLOCKED}
    assert set(delivered) == set(chats) - blocked
    assert all(n == 1 for n in delivered.values())  # exactly once
    assert failed_attempts == [1] * BLOCKED


async def _all_final(stack: Stack) -> bool:
    notices = await stack.notifier.list_notices(limit=COUNT + 1)
    return len(notices) == COUNT and all(n.status.final for n in notices)


async def _rate_limit_in_force(client: Client, task_queue: str) -> tuple[float, int]:
    """The delivery queue's effective rate limit and its source, as the server reports them."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            report_config=True,
        )
    )
    effective = described.effective_rate_limit
    return effective.requests_per_second, effective.rate_limit_source
