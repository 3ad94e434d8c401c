"""How the booking workflow asks for its notices' states to be written into the rows."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from booking_notifications.workflows import activities
    from booking_notifications.workflows.types import BookingInput, MirrorRequest, Notice


async def mirror(booking: BookingInput, notices: list[Notice], *, booking_times: bool) -> None:
    """Write ``notices`` (and, with ``booking_times``, after a move, the booking's times),
    retried until the database is back: a notice's state is never dropped."""
    await workflow.execute_activity(
        activities.mirror_notices,
        MirrorRequest(
            booking.booking_id,
            list(notices),
            booking.starts_at if booking_times else None,
            booking.ends_at if booking_times else None,
        ),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=activities.MIRROR_RETRY,
        summary=f"mirror {len(notices)} notice(s)",
    )
