"""Deploying a new release while bookings sleep: patching, not Worker Deployment Versioning.

Bookings start on release N and sleep (their 24 h reminder sent, the rest days ahead); N's
workers stop; N+1's workers start, with a change behind ``workflow.patched``; a booking made
now takes N+1's path. Every notice of every booking is sent, the sleeping ones finish on N+1
workers as N recorded them, and the new one runs N+1's logic. The replays say why the patch is
needed (the same change unguarded cannot replay N's histories) and what a rollback costs (N
cannot replay a run that took N+1's path: it stalls, not fails, until N+1 is back). The runbook
in ``deploy/README.md`` follows from these.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker import assembly
from booking_notifications.workflows.booking import BookingWorkflow
from tests.support import deploys
from tests.support.bookings import PLAN, booking
from tests.support.stack import api_only, settings_for, telegram_channel
from tests.support.waiting import eventually

pytestmark = pytest.mark.backends("sqlite")

H = timedelta(hours=1)
SENT = NoticeStatus.SENT


def patched_and_memo(history: WorkflowHistory) -> tuple[bool, bool]:
    """Whether the run recorded the release patch's marker, and whether it wrote a memo."""
    marker = memo = False
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = event.marker_recorded_event_attributes.details
            data = b"".join(p.data for payloads in details.values() for p in payloads.payloads)
            marker = marker or deploys.RELEASE_PATCH.encode() in data
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            fields = event.workflow_properties_modified_event_attributes.upserted_memo.fields
            memo = memo or json.loads(fields["release"].data) == deploys.RELEASE
    return marker, memo


async def replays(workflow: type, history: WorkflowHistory) -> bool:
    result = await Replayer(workflows=[workflow]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    return result.replay_failure is None


async def test_sleeping_bookings_finish_on_the_next_release_and_new_ones_run_its_logic(
    time_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [await time_env.get_current_time()]
    settings, channel = settings_for(db_url, task_queue), telegram_channel(telegram)
    async with api_only(time_env, db_url, task_queue, clock=lambda: now[0]) as s:
        # Release N: two bookings two days ahead; a day passes, their 24 h reminders go out.
        # (No sticky cache: the time-skipping server would hold its clock for N's sticky queue
        # after N is gone; a real server hands the task to the normal queue after 5 s.)
        release_n = settings.model_copy(update={"workflow_cache": 0})
        async with assembly.running_workers(time_env.client, release_n, channel):
            asleep = [
                await s.notifier.schedule(booking(48 * H, now=now[0], chat_id=c)) for c in (1, 2)
            ]
            await time_env.sleep(25 * H)

            async def reminded() -> bool:
                statuses = [await s.statuses(b) for b in asleep]
                return all(st["reminder_24h"] is SENT for st in statuses)

            await eventually(reminded)
        # N's workers are gone; N+1's start, with the same assembly and the next workflow code.
        monkeypatch.setattr(assembly, "BookingWorkflow", deploys.NextBookingWorkflow)
        async with assembly.running_workers(time_env.client, settings, channel):
            now[0] = await time_env.get_current_time()
            fresh = await s.notifier.schedule(booking(48 * H, now=now[0], chat_id=3))
            for booking_id in [*asleep, fresh]:
                await s.result(booking_id)
            histories = {b: await s.handle(b).fetch_history() for b in [*asleep, fresh]}
            statuses = {b: await s.statuses(b) for b in [*asleep, fresh]}

    assert statuses == {b: dict.fromkeys(PLAN, SENT) for b in [*asleep, fresh]}
    assert [len(telegram.sent_to(c)) for c in (1, 2, 3)] == [4, 4, 4]
    assert [patched_and_memo(histories[b]) for b in asleep] == [(False, False)] * 2  # ran as N
    assert patched_and_memo(histories[fresh]) == (True, True)  # N+1's logic
    # Why the patch: unguarded, N+1 cannot replay what N recorded (a deploy would stall them).
    old = histories[asleep[0]]
    assert await replays(deploys.NextBookingWorkflow, old) and await replays(BookingWorkflow, old)
    assert not await replays(deploys.UnguardedBookingWorkflow, old)
    # A rollback to N: runs that took N+1's path cannot replay on N (they wait for N+1 again).
    assert await replays(deploys.NextBookingWorkflow, histories[fresh])
    assert not await replays(BookingWorkflow, histories[fresh])
