"""What operators see of a booking's run in the Temporal UI: the NextNotificationAt search
attribute (to find the runs due soon) and the run's current details (each notice's state).

Called from the workflow only (it imports this module passed through the sandbox): the search
attribute's upsert is a command, recorded in the run's history, and an action Temporal Cloud
bills. So one call sets at most one upsert, whatever it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from booking_notifications.core.clock import utc_text
from booking_notifications.workflows import plan
from booking_notifications.workflows.search import NEXT_NOTIFICATION_AT
from booking_notifications.workflows.types import Notice

Update = SearchAttributeUpdate[Any]
"""One search attribute set or cleared, as ``workflow.upsert_search_attributes`` takes it."""


def publish(
    notices: list[Notice],
    published: datetime | None,
    *,
    also: Sequence[Update] = (),
    unset: bool = True,
) -> datetime | None:
    """Show the notices' states, and their next due moment unless it is ``published`` already;
    the moment now shown.

    Args:
        notices: the run's notices.
        published: the moment NextNotificationAt holds.
        also: other attributes to set in the same upsert.
        unset: whether to clear the attribute now when nothing is pending; False keeps the
            last moment shown, for a run that closes before anyone could ask (or clears it
            before it waits).
    """
    upcoming = plan.next_pending(notices)
    next_at = upcoming.due_at if upcoming else None
    updates = list(also)
    if next_at != published and (next_at is not None or unset):
        updates.append(
            NEXT_NOTIFICATION_AT.value_set(next_at)
            if next_at
            else NEXT_NOTIFICATION_AT.value_unset()
        )
        published = next_at
    if updates:
        workflow.upsert_search_attributes(updates)
    lines = [
        f"- **{n.key}** due {utc_text(n.due_at)}: {n.status}"
        + (f" ({n.reason})" if n.reason else "")
        for n in notices
    ]
    workflow.set_current_details("\n".join(lines))
    return published
