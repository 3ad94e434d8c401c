"""What operators and booking code see on the dev server: search attributes, summaries, lists,
the reconcile Schedule, and moves from the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.bookings import save_booking
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import ensure_reconcile_schedule, reconcile_schedule_id
from booking_notifications.workflows.search import NEXT_NOTIFICATION_AT
from tests.support.bookings import booking
from tests.support.cli import iso, run_cli
from tests.support.stack import Stack, api_only, booking_stack, settings_for, telegram_channel
from tests.support.waiting import eventually

pytestmark = pytest.mark.backends("sqlite")

H = timedelta(hours=1)


async def test_which_bookings_get_a_notice_in_the_next_hour_is_one_visibility_query(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s:
        soon = await s.notifier.schedule(
            booking(90 * timedelta(minutes=1), chat_id=1)
        )  # 1 h reminder in 30 min
        later = await s.notifier.schedule(booking(5 * H, chat_id=2))  # 1 h reminder in 4 h
        handle = s.handle(soon)
        await eventually(lambda: _next_set(s, soon))
        await eventually(lambda: _next_set(s, later))
        until = (datetime.now(UTC) + H).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = (
            f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running' "
            f"AND NextNotificationAt <= '{until}'"
        )
        found = [w.id async for w in dev_env.client.list_workflows(query)]
        description = await handle.describe()
        by_id = [
            w.id
            async for w in dev_env.client.list_workflows(
                f"BookingId = '{soon}' AND TaskQueue = '{task_queue}'"
            )
        ]
        for booking_id in (soon, later):
            await s.handle(booking_id).terminate()

    assert found == [handle.id]
    assert by_id == [handle.id]
    summary = await description.static_summary()
    assert (
        summary is not None
        and summary.startswith(f"Booking {soon} · ")
        and summary.endswith(" UTC")
    )


async def test_the_history_names_its_timers_and_activities_and_holds_no_personal_data(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s:
        request = booking(
            timedelta(minutes=5), H, chat_id=987654321, title="Secret Court", reminders=[]
        )
        booking_id = await s.notifier.schedule(request)
        await eventually(lambda: _timer_started(s, booking_id))
        await s.notifier.cancel(booking_id, reason="private reason")
        await s.result(booking_id)
        history = await s.handle(booking_id).fetch_history()
    text = history.to_json()

    timers = [
        e.user_metadata.summary
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]
    activities = [
        e.user_metadata.summary
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert timers and all(t.data for t in timers)
    assert len(activities) >= 2 and all(a.data for a in activities)
    assert b"deliver cancel" in b"".join(a.data for a in activities)
    for secret in ("987654321", "Secret Court", "private reason"):
        assert secret not in text


async def test_the_reconcile_schedule_starts_a_booking_whose_workflow_never_started(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    settings = settings_for(db_url, task_queue).model_copy(
        update={"reconcile_interval": timedelta(seconds=2)}
    )
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s:
        orphan = await _orphan(s, booking(5 * H, chat_id=3))
        await ensure_reconcile_schedule(dev_env.client, settings)
        await ensure_reconcile_schedule(dev_env.client, settings)  # idempotent
        await eventually(lambda: _scheduled(s, orphan), within=60)
        statuses = await _statuses_when_mirrored(s, orphan)
        await dev_env.client.get_schedule_handle(reconcile_schedule_id(settings)).delete()
        await s.handle(orphan).terminate()

    assert statuses["reminder_1h"] is NoticeStatus.PENDING


async def test_reconcile_from_the_api_is_idempotent(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with api_only(dev_env, db_url, task_queue) as s:
        orphan = await _orphan(s, booking(5 * H, chat_id=4))
        fresh = await _orphan(s, booking(5 * H, chat_id=5), age=timedelta(0))
        first = await s.notifier.reconcile()
        second = await s.notifier.reconcile()
        running = await s.handle(orphan).describe()
        await s.handle(orphan).terminate()

    assert first == [orphan] and second == []
    assert fresh not in first  # too young: its own schedule call may still be on its way
    assert running.id == s.notifier.workflow_id(orphan)


async def test_reschedule_and_list_from_the_cli(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    cli_stack_env: dict[str, str],
) -> None:
    env = cli_stack_env
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s:
        booking_id = await s.notifier.schedule(booking(3 * H, chat_id=6))
        new_start = datetime.now(UTC).replace(microsecond=0) + 5 * H
        code, out, err = await run_cli(
            "reschedule", str(booking_id), "--start", iso(new_start), "--end", iso(new_start + H), "--json", env=env
        )  # fmt: skip
        assert (code, err) == (0, "")
        moved = json.loads(out)
        bad_code, _, bad_err = await run_cli(
            "reschedule", str(booking_id), "--start", iso(new_start), "--end", iso(new_start - H), env=env
        )  # fmt: skip
        _, upcoming, _ = await run_cli(
            "list", "--chat-id", "6", "--due-within", "5h30m", "--json", env=env
        )
        _, sent, _ = await run_cli("list", "--chat-id", "6", "--status", "sent", "--json", env=env)
        await s.handle(booking_id).terminate()

    assert moved["starts_at"] == new_start.isoformat()
    assert {n["key"]: n["due_at"] for n in moved["notices"]}["reminder_1h"] == (
        new_start - H
    ).isoformat()
    assert (
        bad_code == 2 and "cannot move: ends_at" in bad_err and "is not after starts_at" in bad_err
    )
    assert [(n["key"], n["status"]) for n in json.loads(upcoming)["notices"]] == [
        ("reminder_1h", "PENDING"),
        ("start", "PENDING"),
    ]  # the end, in 6 h, is outside the window
    assert [n["key"] for n in json.loads(sent)["notices"]] == ["moved_1"]


async def test_next_notification_at_comes_with_the_start_and_goes_before_a_wait(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """The actions saved (BENCHMARKS.md, target 7) keep the query above right: NextNotificationAt
    is the first notice's due moment from the start on (no upsert of the run's own), and a run
    that waits with nothing left to send (a start notice only: until the booking ends) has it
    cleared."""
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s:
        request = booking(timedelta(seconds=3), H, chat_id=7, reminders=[], end_notice=False)
        booking_id = await s.notifier.schedule(request)
        handle = s.handle(booking_id)
        at_start = (await handle.describe()).typed_search_attributes.get(NEXT_NOTIFICATION_AT)
        await eventually(lambda: _sent(s, booking_id, "start"))
        await eventually(lambda: _next_cleared(s, booking_id))
        waiting = await handle.describe()
        history = await handle.fetch_history()
        await handle.terminate()

    assert at_start == request.starts_at
    assert waiting.status is WorkflowExecutionStatus.RUNNING  # it waits for the booking's end
    upserts = [e for e in history.events if e.HasField("upsert_workflow_search_attributes_event_attributes")]  # fmt: skip
    assert len(upserts) == 1  # the clearing, and nothing at the start


async def _sent(stack: Stack, booking_id: int, key: str) -> bool:
    return (await stack.statuses(booking_id)).get(key) is NoticeStatus.SENT


async def _next_cleared(stack: Stack, booking_id: int) -> bool:
    description = await stack.handle(booking_id).describe()
    return description.typed_search_attributes.get(NEXT_NOTIFICATION_AT) is None


async def _orphan(stack: Stack, request: object, age: timedelta = 2 * H) -> int:
    """A booking committed by the API whose workflow never started (a crash in between)."""
    planned = datetime.now(UTC) - age
    booking_row = await save_booking(stack.sessions, request, planned)  # type: ignore[arg-type]
    async with stack.sessions() as session:
        await session.execute(
            update(Booking).where(Booking.id == booking_row.id).values(created_at=planned)
        )
        await session.commit()
    return booking_row.id


async def _scheduled(stack: Stack, booking_id: int) -> bool:
    async with stack.sessions() as session:
        row = await session.get(Booking, booking_id)
        return row is not None and row.scheduled_at is not None


async def _statuses_when_mirrored(stack: Stack, booking_id: int) -> dict[str, NoticeStatus]:
    await eventually(lambda: stack.has_rows(booking_id))
    return await stack.statuses(booking_id)


async def _next_set(stack: Stack, booking_id: int) -> bool:
    description = await stack.handle(booking_id).describe()
    return "NextNotificationAt" in {p.key.name for p in description.typed_search_attributes}


async def _timer_started(stack: Stack, booking_id: int) -> bool:
    history = await stack.handle(booking_id).fetch_history()
    return any(e.HasField("timer_started_event_attributes") for e in history.events)
