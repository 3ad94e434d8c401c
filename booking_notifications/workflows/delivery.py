"""How the booking workflow asks the delivery queue to send one notice."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from booking_notifications.workflows import activities
    from booking_notifications.workflows.types import (
        BookingInput,
        DeliveryOutcome,
        DeliveryRequest,
        Notice,
    )


async def deliver(
    booking: BookingInput, notice: Notice, then_edit: list[str] | None = None
) -> DeliveryOutcome:
    """Send ``notice`` on the rate-limited delivery queue, retried until its latest moment plus
    the booking's ``retry_for``; ``ActivityError`` once that is given up. ``then_edit``: the
    keys of sent messages whose buttons go once it is sent (the booking is over)."""
    request = DeliveryRequest(  # (which notice, when it is due and stale, the booking's times)
        booking.booking_id, notice.key, notice.kind, notice.due_at, notice.latest_at,
        booking.starts_at, booking.ends_at, list(then_edit or ()),
    )  # fmt: skip
    retry_for = timedelta(seconds=booking.retry_for)
    deadline = max(notice.latest_at - workflow.now(), timedelta(0)) + retry_for
    return await workflow.execute_activity(
        activities.deliver_notice,
        request,
        task_queue=activities.delivery_task_queue(workflow.info().task_queue),
        start_to_close_timeout=activities.DELIVERY_ATTEMPT_TIMEOUT,
        heartbeat_timeout=activities.DELIVERY_HEARTBEAT_TIMEOUT,
        schedule_to_close_timeout=deadline,
        retry_policy=activities.DELIVERY_RETRY,
        summary=f"deliver {notice.key}",
    )
