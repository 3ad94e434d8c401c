"""History that follows the booking: the messages already sent are edited when it changes.

When a booking is cancelled, moved or over, each message sent for it that still looks current
(a reminder with live buttons, a start notice, an earlier "moved") is edited through the delivery
queue, one activity per message, so every edit counts against the same server-side rate limit
as the sends. An edit Telegram refuses (the message is too old, or the user deleted it) is
recorded by the activity and is final; an edit that keeps failing is given up after
``EDIT_GIVE_UP``: it never holds the booking back, and it is never retried forever.

Behind the ``EDITS`` patch: runs recorded before it replay without editing anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from booking_notifications.core.domain import NoticeKind, NoticeStatus
    from booking_notifications.workflows import activities, delivery
    from booking_notifications.workflows.edit_types import EditBatch, EditReason, EditRequest
    from booking_notifications.workflows.patches import EDITS
    from booking_notifications.workflows.types import Notice

EDITED = {
    EditReason.CANCELLED: (NoticeKind.REMINDER, NoticeKind.START, NoticeKind.MOVED),
    EditReason.MOVED: (NoticeKind.REMINDER, NoticeKind.START, NoticeKind.MOVED),
    EditReason.OVER: (NoticeKind.REMINDER, NoticeKind.START),
}
"""Which sent messages each change edits: the ones that speak of the booking as still ahead."""


def stale(notices: Iterable[Notice], reason: EditReason) -> list[str]:
    """The keys of the notices sent as messages that ``reason`` makes stale."""
    return [
        n.key
        for n in notices
        if n.status is NoticeStatus.SENT and n.message_id is not None and n.kind in EDITED[reason]
    ]


async def edit_sent(
    booking_id: int,
    notices: Iterable[Notice],
    reason: EditReason,
    shown: tuple[datetime, datetime],
    but: Collection[str] = (),
    patched: Callable[[str], bool] = workflow.patched,
    at_once: bool = False,
) -> None:
    """Edit the messages of ``notices`` that were sent and that ``reason`` makes stale.

    Args:
        booking_id: the booking.
        notices: the workflow's notices; those SENT with a message id are edited.
        reason: what became of the booking.
        shown: the booking's start and end as those messages showed them.
        but: the keys of notices to leave alone (the "moved" notice just sent, the messages
            the end notice's delivery edited).
        patched: asks whether the run takes a patch's path (the workflow's own rule).
        at_once: all in one activity (one action, where one per message costs one each);
            runs of ``BookingNotifications`` recorded one per message.
    """
    keys = [key for key in stale(notices, reason) if key not in but]
    if not keys or not patched(EDITS):
        return
    if at_once:
        batch = EditBatch(booking_id, keys, reason, *shown)
        await _edit(activities.edit_sent_messages, batch, f"edit {', '.join(keys)}: {reason}")
        return
    for key in keys:
        await _edit(
            activities.edit_sent_message,
            EditRequest(booking_id, key, reason, *shown),
            f"edit {key}: {reason}",
        )


async def _edit(edit: Callable[[Any], Awaitable[Any]], request: object, summary: str) -> None:
    # Given up (the activity logged why): an old message stays as it was.
    with contextlib.suppress(ActivityError):
        await workflow.execute_activity(
            edit,
            request,
            task_queue=activities.delivery_task_queue(workflow.info().task_queue),
            start_to_close_timeout=activities.DELIVERY_ATTEMPT_TIMEOUT,
            schedule_to_close_timeout=activities.EDIT_GIVE_UP,
            retry_policy=activities.EDIT_RETRY,
            priority=delivery.EDITS,
            summary=summary,
        )
