"""A message Telegram accepted is sent once, even when the database refuses to record it.

End to end in real time on the dev server, the real worker and aiogram against the fake Bot API:
the database refuses every SENT while the first attempts run (``tests.support.refusals``), so
each delivery fails after its send and Temporal retries it. The retry finds the message id the
attempt heartbeated and records it; before that, each retry sent the message again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import booking
from tests.support.refusals import refusing_sent
from tests.support.stack import Stack, booking_stack, telegram_channel
from tests.support.waiting import eventually

S = timedelta(seconds=1)
CHAT = 78


async def refused_and_retried(stack: Stack, booking_id: int, failures: list[str]) -> bool:
    """A delivery failed after its send and is retried; ``failures`` gets what Temporal shows."""
    described = await stack.handle(booking_id).describe()
    retried = [p for p in described.raw_description.pending_activities if p.attempt >= 2]
    failures.extend(p.last_failure.message for p in retried)
    return bool(retried)


async def test_a_send_the_database_refused_to_record_is_recorded_by_the_retry_and_sent_once(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with FakeTelegram() as telegram:
        channel = telegram_channel(telegram)
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            async with refusing_sent(s.sessions):
                request = booking(3 * S, 2 * S, reminders=[], title="Sauna", chat_id=CHAT)
                booking_id = await s.notifier.schedule(request)
                failures: list[str] = []
                await eventually(lambda: refused_and_retried(s, booking_id, failures), within=30)
            await s.result(booking_id)
            rows = await s.rows(booking_id)

    assert {key: row.status for key, row in rows.items()} == {
        "start": NoticeStatus.SENT,
        "end": NoticeStatus.SENT,
    }
    sent = telegram.sent_to(CHAT)
    assert [r.message_id for r in sent] == [
        rows["start"].telegram_message_id,
        rows["end"].telegram_message_id,
    ]
    # What the operator reads in the UI meanwhile: one line, not a statement's text (that
    # exceeded Temporal's failure size, and showed as "Failure exceeds size limit.").
    assert f"sent as message {sent[0].message_id}, not recorded" in failures[0]
