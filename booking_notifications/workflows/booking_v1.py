"""The runs started as ``BookingNotifications``, before ``BookingNotifications2`` replaced it.

Bookings sleep for days, so runs of the first type still wake on today's workers: this type
replays and continues them exactly as their histories recorded them. It differs from the current
one only where the current one saves Temporal Cloud actions: it asks each patch (a marker on
every run that takes it), publishes NextNotificationAt with an upsert of its own at the start,
clears it as soon as nothing is pending, sets BookingStartsAt after a move in a second upsert,
and edits the messages a change makes stale one activity per message (the end notice's
delivery edits none). Retire it once no run of it is left:
``temporal workflow list --query "WorkflowType = 'BookingNotifications' AND ExecutionStatus = 'Running'"``.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from booking_notifications.workflows import history, visibility
    from booking_notifications.workflows.booking import BookingWorkflow
    from booking_notifications.workflows.edit_types import EditReason
    from booking_notifications.workflows.types import BookingInput, BookingReport, Notice


@workflow.defn(name="BookingNotifications")
class BookingWorkflowV1(BookingWorkflow):
    """A booking's run of the first type, as it was recorded."""

    @workflow.run
    async def run(self, booking: BookingInput) -> BookingReport:
        return await super().run(booking)

    def _patched(self, patch_id: str) -> bool:
        return workflow.patched(patch_id)

    def _published_at_start(self) -> datetime | None:
        return None

    async def _edit_sent(
        self, reason: EditReason, shown: tuple[datetime, datetime], but: str | None = None
    ) -> None:  # one activity per message
        await history.edit_sent(
            self._id, self._notices, reason, shown, [but] if but else [], self._patched
        )

    def _tidied_by(self, notice: Notice) -> list[str]:
        return []

    def _publish(
        self, *, waiting: bool = False, also: list[visibility.Update] | None = None
    ) -> None:
        self._next_published = visibility.publish(self._notices, self._next_published)
        if also:
            workflow.upsert_search_attributes(also)
