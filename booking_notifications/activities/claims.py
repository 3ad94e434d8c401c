"""The last check before a send: is this attempt's claim on its notice still the row's?

A delivery claims its notice (the row PROCESSING, ``attempts`` counted) and then waits for its
turn of the shared pacer. On a saturated machine that wait, or the event loop around it, can
outlast the attempt's heartbeat timeout: the server then starts the next attempt, which claims
the row again and sends. Telegram has no idempotency key, so the first attempt, when it wakes,
must see that and not send too. ``Claim.confirm`` reads the row right before the call to
Telegram: a later claim (or the notice made final or moved meanwhile) stops the send.

The pacer's channel runs the check after its wait (``confirm_claim``, with the check the
delivery set around its send by ``claimed``); the channel stays a channel, knowing nothing of
rows. Without pacing there is no wait between claim and send for a retry to fall in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from temporalio import activity

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Notification
from booking_notifications.db.session import Sessions
from booking_notifications.workflows.activities import DELIVERY_HEARTBEAT_TIMEOUT
from booking_notifications.workflows.types import DeliveryOutcome

YOUNG = DELIVERY_HEARTBEAT_TIMEOUT / 2
"""Attempts started (by the server's clock) less than this ago skip the read."""


class Superseded(Exception):
    """The notice is no longer this attempt's to send; ``outcome`` is the row's if it is final."""

    def __init__(self, reason: str, outcome: DeliveryOutcome | None) -> None:
        super().__init__(reason)
        self.outcome = outcome


@dataclass(frozen=True)
class Claim:
    """One attempt's claim on a notice row: the ``attempts`` count its claim set."""

    sessions: Sessions
    row_id: int
    attempts: int

    async def confirm(self) -> None:
        """Return if the row is still PROCESSING under this claim; ``Superseded`` if not."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(
                        Notification.status,
                        Notification.attempts,
                        Notification.last_error,
                        Notification.telegram_message_id,
                    ).where(Notification.id == self.row_id)
                )
            ).one_or_none()
        if row is None:  # the booking was deleted meanwhile: nothing left to send for
            raise Superseded("the notice's row is gone", None)
        if row.status is NoticeStatus.PROCESSING and row.attempts == self.attempts:
            return
        final = DeliveryOutcome(row.status, row.last_error, row.telegram_message_id)
        if row.attempts != self.attempts:
            reason = f"claimed again by a later attempt ({row.attempts} after {self.attempts})"
        else:
            reason = f"{row.status.value.lower()} while this attempt waited for its turn"
        raise Superseded(reason, final if row.status.final else None)


_current: ContextVar[Claim | None] = ContextVar("claim", default=None)


@contextmanager
def claimed(claim: Claim) -> Iterator[None]:
    """Sends within the block are ``claim``'s: ``confirm_claim`` checks it."""
    token = _current.set(claim)
    try:
        yield
    finally:
        _current.reset(token)


async def confirm_claim() -> None:
    """Check the claim of the send under way (nothing outside a delivery: an edit, a test).

    An attempt younger than half its heartbeat timeout cannot have been timed out, so no retry
    can have claimed its notice: it sends on its slot without the read (a read between the slot
    and the send makes sends of several processes leave late, crowding a sliding second).
    """
    if (claim := _current.get()) is None:
        return
    if activity.in_activity() and datetime.now(UTC) - activity.info().started_time < YOUNG:
        return
    await claim.confirm()
