"""Deadline-aware order under overload: each delivery is queued with Temporal's task priority by
the time left to its latest moment, and edits after every notice (``workflows.delivery``).

What the order buys is measured, not asserted here: ``python -m bench.overload`` (BENCHMARKS.md,
"More due than the cap can send"). This checks what the real worker asks of the server, from
the history of real runs on the time-skipping server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowHistory

from tests.support.stack import Stack

pytestmark = pytest.mark.backends("sqlite")

H = timedelta(hours=1)


def priorities(history: WorkflowHistory) -> dict[str, int]:
    """The priority key each activity of the run was queued with, by its summary."""
    return {
        event.user_metadata.summary.data.decode().strip('"'): attributes.priority.priority_key
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        for attributes in [event.activity_task_scheduled_event_attributes]
    }


async def test_the_nearest_deadline_is_queued_first_and_edits_last(time_stack: Stack) -> None:
    booking_id, _ = await time_stack.book(30 * H)
    cancelled, _ = await time_stack.book(30 * H)
    await time_stack.env.sleep(7 * H)  # both 24 h reminders sent
    await time_stack.notifier.cancel(cancelled)
    for run in (booking_id, cancelled):
        await time_stack.result(run)

    plain = priorities(await time_stack.handle(booking_id).fetch_history())
    cancel = priorities(await time_stack.handle(cancelled).fetch_history())

    assert plain == {  # 1 first; 15 minutes of tolerance: 1, an hour: 2
        "deliver reminder_24h": 2,
        "deliver reminder_1h": 1,
        "deliver start": 1,
        "deliver end": 2,
    }
    assert cancel["deliver cancel"] == 2
    assert cancel["edit reminder_24h: cancelled"] == 4  # after every notice
