"""What a booking's run does next, as ``BookingWorkflow._next_step`` decides it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime


@dataclasses.dataclass(frozen=True)
class Step:
    """The next thing a booking does: ``then``, at ``at`` (None: now); ``summary`` names the timer."""

    at: datetime | None
    summary: str
    then: Callable[[], Awaitable[None]]
