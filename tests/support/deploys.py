"""Release N+1 of the booking workflow, as a deploy would ship it, for the deploy tests.

The change is one new command at the start of a run (a memo naming the release): the kind of
change that breaks the replay of every booking already asleep, because their histories were
recorded without it. ``NextBookingWorkflow`` guards it with ``workflow.patched`` as the product
does (``booking.py``: ``PUBLISH_FIRST``, ``SAME_MOVE``...); ``UnguardedBookingWorkflow`` ships
it bare, to show what the patch prevents. Both keep the pinned type name, as a deploy must.
"""

from __future__ import annotations

from temporalio import workflow

from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import BookingInput, BookingReport

RELEASE_PATCH = "deploy-test-release-memo"
RELEASE = "N+1"


@workflow.defn(name="BookingNotifications2")
class NextBookingWorkflow(BookingWorkflow):
    """N+1: new runs record the release in their memo; runs recorded by N replay as N."""

    @workflow.run
    async def run(self, booking: BookingInput) -> BookingReport:
        if workflow.patched(RELEASE_PATCH):
            workflow.upsert_memo({"release": RELEASE})
        return await super().run(booking)


@workflow.defn(name="BookingNotifications2")
class UnguardedBookingWorkflow(BookingWorkflow):
    """N+1 shipped without the patch: the same change for every run, old ones included."""

    @workflow.run
    async def run(self, booking: BookingInput) -> BookingReport:
        workflow.upsert_memo({"release": RELEASE})
        return await super().run(booking)
