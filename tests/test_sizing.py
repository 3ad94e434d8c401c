"""The figures behind README's sizing per 100,000 bookings, measured here so they can be redone.

- PostgreSQL: bytes our tables and indexes grow by per booking with the default plan (four
  notice rows, a booking, a user each: the most a booking costs);
- Temporal: events, bytes and actions in the history of a booking that ran its whole plan (the
  recorded ``tests/histories/v4-plain.json``, the path every booking takes now).

The bounds are loose: they catch a row or a history that grows by a multiple, not a byte.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from booking_notifications.db.session import make_engine
from tests.support.bookings import booking
from tests.support.stack import api_only

BOOKINGS = 2_000
BATCH = 500
ACTIONS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    EventType.EVENT_TYPE_MARKER_RECORDED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
}
"""The events of a history that Temporal Cloud bills as actions (heartbeats come on top)."""
OUR_TABLES = """
    SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'bn\\_%'
"""


@pytest.mark.slow
@pytest.mark.backends("postgres")
async def test_a_booking_costs_about_a_kilobyte_and_a_half_in_postgresql(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    engine = make_engine(db_url)
    now = await time_env.get_current_time()
    try:
        async with engine.connect() as connection:
            before = int((await connection.execute(text(OUR_TABLES))).scalar() or 0)
        async with api_only(time_env, db_url, task_queue, clock=lambda: now) as s:
            ids: list[int] = []
            for first in range(0, BOOKINGS, BATCH):
                ids += await s.notifier.schedule_many(
                    [
                        booking(timedelta(days=2), now=now, chat_id=990_000 + i, title="Court 3")
                        for i in range(first, first + BATCH)
                    ]
                )
            for booking_id in ids:  # no worker ran them: nothing of theirs is outstanding
                await s.handle(booking_id).terminate("sizing done")
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        async with engine.connect() as connection:
            after = int((await connection.execute(text(OUR_TABLES))).scalar() or 0)
    finally:
        await engine.dispose()

    per_booking = (after - before) / BOOKINGS
    print(f"SIZING PostgreSQL: {per_booking:.0f} bytes per booking ({BOOKINGS} bookings)")
    assert 500 < per_booking < 4_000


def test_a_booking_that_ran_its_plan_is_56_events_and_16_actions() -> None:
    path = Path(__file__).parent / "histories" / "v4-plain.json"
    history = WorkflowHistory.from_json("v4-plain", path.read_text(encoding="utf-8"))

    kinds = Counter(event.event_type for event in history.events)
    actions = sum(count for kind, count in kinds.items() if kind in ACTIONS)
    size = sum(event.ByteSize() for event in history.events)
    print(f"SIZING Temporal: {len(history.events)} events, {size} bytes, {actions} actions")
    assert len(history.events) == 56 and actions == 16
    assert size < 10_000
