"""What a call did, where a yes or no would not tell the whole truth."""

from __future__ import annotations

from enum import StrEnum


class CancelResult(StrEnum):
    """What a cancel did. Truthy only when this call cancelled the booking."""

    CANCELLED = "cancelled"
    """This call cancelled it: pending notices are dropped and its owner is being told."""
    ALREADY_CANCELLED = "already_cancelled"
    OVER = "over"
    """The booking has ended: nothing changed."""

    def __bool__(self) -> bool:
        return self is CancelResult.CANCELLED
