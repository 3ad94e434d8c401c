"""Bookings sleep for days: the current workflow code must replay every recorded history.

``tests/histories/v1-*`` were recorded before the ``publish-before-mirror`` patch, ``v2-*``
after it (and with reschedules), ``v3-*`` on the path every booking takes since the API writes
the planned rows (``planned_at`` set, no first mirror activity), including a booking cancelled
before its workflow started (started by the cancel signal); ``v4-*`` since notices wait for a
user who has not connected their Telegram (released by the ``user_connected`` signal, or skipped
at their latest moment); ``*-moved-in-first-task``: a move that reached the run's first workflow
task with its start (update-with-start), handled before ``run``, recorded in v4 by the code that
then undid it (it must still replay, the ``keep-a-move-made-before-run`` patch unasked) and in v5
by the patched code; ``v6-*`` since sent messages are edited when the booking changes or ends;
``v7-*``: runs of the ``BookingNotifications2`` type, which takes those patches unasked, finds
NextNotificationAt set by its start and edits a change's messages in one activity (every earlier
history is a ``BookingNotifications`` run, replayed by ``BookingWorkflowV1``). Record new ones with
``python -m tests.histories.record vN`` whenever the workflow's logic changes, behind
``workflow.patched``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.booking_v1 import BookingWorkflowV1
from tests.histories.record import SCENARIOS

HISTORIES = {
    path.stem: path.read_text(encoding="utf-8")
    for path in sorted((Path(__file__).parent / "histories").glob("v*-*.json"))
}


def test_histories_of_each_version_and_scenario_are_kept() -> None:
    names = set(HISTORIES)
    for scenario in ("plain", "cancelled", "skipped"):
        assert f"v1-{scenario}" in names
    for scenario in ("plain", "cancelled", "skipped", "rescheduled"):
        assert f"v2-{scenario}" in names
    for scenario in ("plain", "cancelled", "skipped", "rescheduled", "cancelled-before-start"):
        assert f"v3-{scenario}" in names
    for scenario in ("waits-for-user", "never-connected", "moved-in-first-task"):
        assert f"v4-{scenario}" in names
    assert "v5-moved-in-first-task" in names
    for scenario in ("plain", "cancelled", "rescheduled"):
        assert f"v6-{scenario}" in names
    for scenario in SCENARIOS:
        assert f"v7-{scenario}" in names


@pytest.mark.parametrize("name", HISTORIES)
async def test_the_current_workflow_replays_a_recorded_history(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])

    replayer = Replayer(workflows=[BookingWorkflow, BookingWorkflowV1])
    result = await replayer.replay_workflow(history)

    assert result.replay_failure is None
