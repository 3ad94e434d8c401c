"""The booking workflow without the deadline-aware order, for ``bench.overload --ordering off``:
every delivery at Temporal's default priority, so the backlog goes out in arrival order.

A module of its own, importing only workflow code: the worker's sandbox imports it again.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import Priority

from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import BookingInput, BookingReport, Notice


@workflow.defn(name="BookingNotifications2")
class ArrivalOrderWorkflow(BookingWorkflow):
    """``BookingWorkflow`` with every delivery queued at the default priority."""

    @workflow.run
    async def run(self, booking: BookingInput) -> BookingReport:
        return await super().run(booking)

    def _priority(self, notice: Notice) -> Priority:
        return Priority()
