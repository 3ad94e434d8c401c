"""What operators see of a booking's run in the Temporal UI: the NextNotificationAt search
attribute (to find the runs due soon) and the run's current details (each notice's state).

Called from the workflow only (it imports this module passed through the sandbox): the search
attribute's upsert is a command, recorded in the run's history.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from booking_notifications.core.clock import utc_text
from booking_notifications.workflows import plan
from booking_notifications.workflows.search import NEXT_NOTIFICATION_AT
from booking_notifications.workflows.types import Notice


def publish(notices: list[Notice], published: datetime | None) -> datetime | None:
    """Show the notices' states, and their next due moment unless it is ``published`` already;
    the moment now shown."""
    upcoming = plan.next_pending(notices)
    next_at = upcoming.due_at if upcoming else None
    if next_at != published:
        update = (
            NEXT_NOTIFICATION_AT.value_set(next_at)
            if next_at
            else NEXT_NOTIFICATION_AT.value_unset()
        )
        workflow.upsert_search_attributes([update])
    lines = [
        f"- **{n.key}** due {utc_text(n.due_at)}: {n.status}"
        + (f" ({n.reason})" if n.reason else "")
        for n in notices
    ]
    workflow.set_current_details("\n".join(lines))
    return next_at
