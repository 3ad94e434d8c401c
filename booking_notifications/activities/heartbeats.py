"""Heartbeats of long activities, and what a retried delivery learns from the attempt before it.

The delivery's heartbeat timeout (seconds) tells a dead worker from a slow one: a send lost with
its killed worker is retried after the heartbeat timeout instead of the whole attempt timeout,
while a live worker waiting on a slow database keeps its attempt (a second attempt beside it
could send the same message twice). A fast send never heartbeats.

Telegram has no idempotency key, so the moment it accepts a message is the one a retry must
not repeat. The attempt heartbeats the message id at once (``Progress.sent``): Temporal keeps an
attempt's last heartbeat details for the next attempt, and the SDK sends a throttled last one
with the failure. When the row cannot say SENT (the database failed, the pool ran dry, the
worker was killed after its first heartbeat left), the next attempt finds the id there and
records it instead of sending again. Only a message id goes in: no chat id, no text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import activity

T = TypeVar("T")

HEARTBEAT_EVERY = 1.0
"""Seconds between heartbeats of a delivery that is still running (well under its timeout)."""


class Progress:
    """What this attempt has done that a retry must not do again, heartbeated as it happens."""

    def __init__(self) -> None:
        self.details: tuple[object, ...] = ()

    def sent(self, message_id: int) -> None:
        """Telegram accepted the message: say so now, before anything else can fail."""
        self.details = (message_id,)
        if activity.in_activity():
            activity.heartbeat(*self.details)

    @staticmethod
    def sent_before() -> int | None:
        """The message id an earlier attempt of this activity heartbeated, if it got one."""
        if not activity.in_activity():
            return None
        details = activity.info().heartbeat_details
        return details[0] if details and isinstance(details[0], int) else None


async def heartbeating(work: Awaitable[T], progress: Progress | None = None) -> T:
    """Await ``work``, heartbeating each second it takes (with ``progress``'s details)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
            if done:
                return task.result()
            if activity.in_activity():
                activity.heartbeat(*(progress.details if progress else ()))
    finally:
        task.cancel()  # no-op once done; stops the work when the activity itself is cancelled
