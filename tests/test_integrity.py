"""The seams between booking code, SQL and Temporal: every accepted booking gets exactly its
notices, a cancel is final in every state, a workflow id names one booking, and a worker that can
no longer work says so and stops."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import CancelResult, WorkflowIdTaken
from booking_notifications.api.bookings import save_booking
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking
from booking_notifications.db.session import make_engine
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import WorkerFailed, running_workers
from tests.support.bookings import booking
from tests.support.cli import run_cli
from tests.support.stack import (
    Stack,
    api_only,
    booking_stack,
    frozen_stack,
    settings_for,
    telegram_channel,
)

pytestmark = pytest.mark.backends("sqlite")

H = timedelta(hours=1)
SENT, CANCELLED, SKIPPED = NoticeStatus.SENT, NoticeStatus.CANCELLED, NoticeStatus.SKIPPED


async def _commit_without_start(stack: Stack, request: object, now: datetime) -> int:
    """A booking committed whose workflow never started: the process died in between."""
    row = await save_booking(stack.sessions, request, now)  # type: ignore[arg-type]
    return row.id


async def test_a_booking_cancelled_before_its_workflow_started_never_gets_a_reminder(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with frozen_stack(time_env, db_url, task_queue, telegram) as (s, now):
        booking_id = await _commit_without_start(s, booking(3 * H, now=now, reminders=[H]), now)

        result = await s.notifier.cancel(booking_id, reason="test")
        assert await s.notifier.reconcile(older_than=timedelta(0)) == []
        report = await s.result(booking_id)
        statuses = await s.statuses(booking_id)
        view = await s.notifier.status(booking_id)

    assert result is CancelResult.CANCELLED
    assert report.cancelled is True
    assert statuses == {
        "reminder_1h": CANCELLED,
        "start": CANCELLED,
        "end": CANCELLED,
        "cancel": SENT,
    }
    assert view.cancelled_at is not None
    assert [(r.text or "")[:1] for r in telegram.sent] == ["❌"]


async def test_cancel_tells_the_truth_about_a_booking_already_cancelled(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, _ = await s.book(3 * H)
    first = await s.notifier.cancel(booking_id)
    second = await s.notifier.cancel(booking_id)
    await s.result(booking_id)

    assert (first, second) == (CancelResult.CANCELLED, CancelResult.ALREADY_CANCELLED)
    assert sum((r.text or "").startswith("❌") for r in telegram.sent) == 1


async def test_a_cancel_that_finds_the_workflow_ended_meanwhile_leaves_no_trace_on_the_row(
    time_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflow closes between cancel's look at it and its signal: the row's cancel is
    undone whole, who cancelled included (``cancelled_by`` stayed 'user')."""
    s = time_stack
    booking_id, _ = await s.book(3 * H)

    async def ended_meanwhile(*_args: object, **_kwargs: object) -> None:
        raise WorkflowAlreadyStartedError("wf", "BookingNotifications")

    monkeypatch.setattr(s.notifier._runs, "start", ended_meanwhile)
    result = await s.notifier.cancel(booking_id, reason="rain", by="user")
    view = await s.notifier.status(booking_id)

    assert result is CancelResult.OVER
    assert (view.cancelled_at, view.cancelled_by) == (None, None)


async def test_a_workflow_id_of_another_booking_is_refused_and_nothing_is_kept(
    time_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    """A second database (recreated, restored, another environment) on the same namespace."""
    now = await time_env.get_current_time()
    first_db, second_db = (f"sqlite+aiosqlite:///{tmp_path}/{name}.db" for name in ("a", "b"))
    for url in (first_db, second_db):
        from booking_notifications.db.migrate import upgrade

        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
    async with (  # a worker for the first: a workflow task no worker takes stalls time skipping
        booking_stack(time_env, first_db, task_queue, ConsoleChannel(io.StringIO())) as first,
        api_only(time_env, second_db, task_queue) as second,
    ):
        theirs = await first.notifier.schedule(booking(30 * H, now=now, ref="a-1"))
        again = await first.notifier.schedule(booking(30 * H, now=now, ref="a-1"))
        with pytest.raises(WorkflowIdTaken, match="already belongs to another booking"):
            await second.notifier.schedule(booking(30 * H, now=now, ref="b-1"))
        async with second.sessions() as session:
            left = await session.scalar(select(func.count()).select_from(Booking))
        await first.handle(theirs).terminate()

    assert theirs == again == 1  # the same booking again is a no-op
    assert left == 0  # the refused booking left no rows behind


async def test_a_worker_that_can_no_longer_work_stops_the_block_with_the_reason(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    target = dev_env.client.service_client.config.target_host
    nowhere = await Client.connect(target, namespace="no-such-namespace")
    started = asyncio.get_running_loop().time()

    with pytest.raises(WorkerFailed, match="no-such-namespace"):
        async with running_workers(nowhere, settings_for(db_url, task_queue), ConsoleChannel()):
            await asyncio.sleep(60)

    assert asyncio.get_running_loop().time() - started < 30


async def test_the_worker_command_exits_non_zero_with_one_line_when_it_cannot_work(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_stack_env, "TEMPORAL_NAMESPACE": "no-such-namespace", "NOTICE_CHANNEL": "console"}
    code, _, err = await run_cli("worker", env=env, cwd=tmp_path)

    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("booking-notify: ") and "no-such-namespace" in err


async def test_a_booking_whose_start_died_and_that_ended_unnoticed_ends_with_every_notice_skipped(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """Found by the ordering test: the worker was away until after the booking. Its rows must
    not say PENDING forever: reconcile still starts it, and it skips each notice with a reason."""
    clock = [await time_env.get_current_time()]
    now = clock[0]
    channel = telegram_channel(telegram)
    async with booking_stack(time_env, db_url, task_queue, channel, clock=lambda: clock[0]) as s:
        booking_id = await _commit_without_start(s, booking(H / 2, now=now, reminders=[]), now)
        await time_env.sleep(23 * H)
        clock[0] = await time_env.get_current_time()
        reconciled = await s.notifier.reconcile(older_than=timedelta(0))
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert reconciled == [booking_id]
    assert {key: row.status for key, row in rows.items()} == {"start": SKIPPED, "end": SKIPPED}
    assert all("late" in (row.last_error or "") for row in rows.values())
    assert telegram.sent == []
