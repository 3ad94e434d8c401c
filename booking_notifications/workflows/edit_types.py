"""What crosses the boundary of a message edit: ids, times and why, never a text or a chat.

Kept outside the sandboxed workflow module, like ``types`` (a dataclass with a ``datetime``
declared inside it fails to decode).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EditReason(StrEnum):
    """Why a sent message is edited: what became of its booking."""

    CANCELLED = "cancelled"
    """Struck through, "cancelled" below it, no buttons."""
    MOVED = "moved"
    """"moved to …" below it, no buttons."""
    OVER = "over"
    """The booking has ended: its buttons go, the text stays."""


@dataclass(frozen=True)
class EditRequest:
    """Edit the message one notice was sent as (found by its row), once."""

    booking_id: int
    key: str
    reason: EditReason
    shown_starts_at: datetime
    shown_ends_at: datetime
    """The booking's times as the message showed them (before a move)."""


@dataclass(frozen=True)
class EditBatch:
    """Edit the messages several notices of one booking were sent as, each once, in one call."""

    booking_id: int
    keys: list[str]
    reason: EditReason
    shown_starts_at: datetime
    shown_ends_at: datetime

    def requests(self) -> list[EditRequest]:
        """One request per message, in the order given."""
        times = (self.shown_starts_at, self.shown_ends_at)
        return [EditRequest(self.booking_id, key, self.reason, *times) for key in self.keys]


@dataclass(frozen=True)
class EditOutcome:
    """What the edit did: ``edited``, or why not (refused by Telegram, nothing to edit)."""

    edited: bool
    reason: str | None = None
