"""How the booking workflow asks the delivery queue to send one notice, and in which order.

When more is due than the rate sends (the top of every hour: the hour's start notices, its
"1 h before" reminders and the last hour's end notices fall due together), the queue's backlog
is dispatched by Temporal's task priority: the nearest deadline first, so a start notice (15
minutes of tolerance) goes before an end notice (an hour), and the edits of sent messages, which
no one misses for a minute, after every notice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import Priority

with workflow.unsafe.imports_passed_through():
    from booking_notifications.workflows import activities
    from booking_notifications.workflows.types import (
        BookingInput,
        DeliveryOutcome,
        DeliveryRequest,
        Notice,
    )


URGENT = timedelta(minutes=15)
"""A notice with at most this much time left to its latest moment goes first."""
SOON = timedelta(hours=1)
EDITS = Priority(priority_key=4)
"""Edits of sent messages: after every notice (1 is first; 3, the default, is what has more than
an hour left, as the reconciler's and the webhook relay's work on their own queues)."""


def priority(latest_at: datetime) -> Priority:
    """The delivery's place in the queue's backlog: earliest deadline first, in Temporal's
    priority levels (``URGENT``: 1, ``SOON``: 2, else 3)."""
    left = latest_at - workflow.now()
    return Priority(priority_key=1 if left <= URGENT else 2 if left <= SOON else 3)


async def deliver(
    booking: BookingInput,
    notice: Notice,
    then_edit: list[str] | None = None,
    queued: Priority | None = None,
) -> DeliveryOutcome:
    """Send ``notice`` on the rate-limited delivery queue, retried until its latest moment plus
    the booking's ``retry_for``; ``ActivityError`` once that is given up. ``then_edit``: the
    keys of sent messages whose buttons go once it is sent (the booking is over); ``queued``: its
    priority (``priority(notice.latest_at)`` when not given)."""
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
        priority=queued or priority(notice.latest_at),
        summary=f"deliver {notice.key}",
    )
