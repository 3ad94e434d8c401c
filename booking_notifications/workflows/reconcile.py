"""The reconcile workflow: start the booking workflows that a crash kept from starting.

Booking code commits its booking, then asks us to schedule it; a crash in between leaves a row
with no workflow. A Temporal Schedule runs this workflow at an interval; it is idempotent.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from booking_notifications.workflows import activities


@workflow.defn(name="ReconcileBookings")
class ReconcileWorkflow:
    """Runs the reconcile activity once; returns the ids of the bookings it scheduled.

    The type name is pinned: the Schedule starts it by name."""

    @workflow.run
    async def run(self) -> list[int]:
        return await workflow.execute_activity(
            activities.reconcile_bookings,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary="schedule bookings that have no workflow",
        )
