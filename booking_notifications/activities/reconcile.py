"""The reconcile activity: the booking API's own reconcile, run from a worker."""

from __future__ import annotations

from temporalio import activity

from booking_notifications.api import BookingNotifier
from booking_notifications.workflows import activities as declared


class ReconcileActivities:
    """Built with a notifier that shares the worker's client and database."""

    def __init__(self, notifier: BookingNotifier) -> None:
        self._notifier = notifier

    @activity.defn(name=declared.RECONCILE_BOOKINGS)
    async def reconcile(self) -> list[int]:
        scheduled = await self._notifier.reconcile()
        if scheduled:
            activity.logger.warning("scheduled %d booking(s) that had no workflow", len(scheduled))
        return scheduled
