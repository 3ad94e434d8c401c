"""The activities the workflows call, declared by name and types alone.

Workflows call these declarations, so what they pass and get back is type-checked; the worker
registers the implementations (``booking_notifications.activities``) under the same names, and a
test checks that each implementation has its declaration's signature. Pure: safe in the sandbox.
"""

from __future__ import annotations

from temporalio import activity

from booking_notifications.workflows.types import DeliveryOutcome, DeliveryRequest, MirrorRequest

MIRROR_NOTICES = "mirror_notices"
DELIVER_NOTICE = "deliver_notice"
RECONCILE_BOOKINGS = "reconcile_bookings"


@activity.defn(name=MIRROR_NOTICES)
async def mirror_notices(request: MirrorRequest) -> None:
    """Write the workflow's view of some notices (and, after a move, the booking's times)."""
    raise NotImplementedError("declared here, run by activities.notices.NoticeActivities")


@activity.defn(name=DELIVER_NOTICE)
async def deliver_notice(request: DeliveryRequest) -> DeliveryOutcome:
    """Send one notice unless it is final or stale by then; say what became of it."""
    raise NotImplementedError("declared here, run by activities.notices.NoticeActivities")


@activity.defn(name=RECONCILE_BOOKINGS)
async def reconcile_bookings() -> list[int]:
    """Start what a crash kept from starting; the ids of the bookings acted on."""
    raise NotImplementedError("declared here, run by activities.reconcile.ReconcileActivities")
