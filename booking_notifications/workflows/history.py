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
from collections.abc import Iterable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from booking_notifications.core.domain import NoticeKind, NoticeStatus
    from booking_notifications.workflows import activities
    from booking_notifications.workflows.edit_types import EditReason, EditRequest
    from booking_notifications.workflows.patches import EDITS
    from booking_notifications.workflows.types import Notice

EDITED = {
    EditReason.CANCELLED: (NoticeKind.REMINDER, NoticeKind.START, NoticeKind.MOVED),
    EditReason.MOVED: (NoticeKind.REMINDER, NoticeKind.START, NoticeKind.MOVED),
    EditReason.OVER: (NoticeKind.REMINDER, NoticeKind.START),
}
"""Which sent messages each change edits: the ones that speak of the booking as still ahead."""


async def edit_sent(
    booking_id: int,
    notices: Iterable[Notice],
    reason: EditReason,
    shown: tuple[datetime, datetime],
    *,
    but: str | None = None,
) -> None:
    """Edit the messages of ``notices`` that were sent and that ``reason`` makes stale.

    Args:
        booking_id: the booking.
        notices: the workflow's notices; those SENT with a message id are edited.
        reason: what became of the booking.
        shown: the booking's start and end as those messages showed them.
        but: the key of a notice to leave alone (the "moved" notice just sent).
    """
    keys = [
        n.key
        for n in notices
        if n.status is NoticeStatus.SENT
        and n.message_id is not None
        and n.kind in EDITED[reason]
        and n.key != but
    ]
    if not keys or not workflow.patched(EDITS):
        return
    for key in keys:
        request = EditRequest(booking_id, key, reason, *shown)
        # Given up (the activity logged why): an old message stays as it was.
        with contextlib.suppress(ActivityError):
            await workflow.execute_activity(
                activities.edit_sent_message,
                request,
                task_queue=activities.delivery_task_queue(workflow.info().task_queue),
                start_to_close_timeout=activities.DELIVERY_ATTEMPT_TIMEOUT,
                schedule_to_close_timeout=activities.EDIT_GIVE_UP,
                retry_policy=activities.EDIT_RETRY,
                summary=f"edit {key}: {reason}",
            )
