"""The events relay workflow: one per deployment, keeping the webhook relay activity running.

The workflow is the relay's lock and its keeper: one run under a fixed id means one relay at a
time across every worker process, and Temporal restarts the activity on another worker when its
worker dies (the heartbeat timeout). Each activity works for ``RELAY_RUN`` before returning, so
the history grows by a few events every five minutes, and the workflow continues as new after
``RUNS`` of them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from booking_notifications.workflows import activities

RELAY_RUN = timedelta(minutes=5)
RUNS = 100
RELAY_HEARTBEAT_TIMEOUT = timedelta(seconds=20)
"""A relay whose worker died is picked up again this long after its last heartbeat."""


@workflow.defn(name="EventsRelay")
class EventsRelayWorkflow:
    """Runs the relay activity again and again; never ends on its own."""

    @workflow.run
    async def run(self) -> None:
        for _ in range(RUNS):
            await workflow.execute_activity(
                activities.relay_events,
                RELAY_RUN.total_seconds(),
                start_to_close_timeout=RELAY_RUN + timedelta(minutes=1),
                heartbeat_timeout=RELAY_HEARTBEAT_TIMEOUT,
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary="send pending events to the webhook",
            )
        workflow.continue_as_new()
