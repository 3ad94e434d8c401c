"""The domain's enums and value types: what a notice announces, where it stands, a quiet window.

The workflows, the rows and the texts all speak these; they live in the core so that the workflow
sandbox and the database layer import them from one pure place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class NoticeKind(StrEnum):
    """What a notice announces."""

    REMINDER = "reminder"
    START = "start"
    END = "end"
    CANCEL = "cancel"
    MOVED = "moved"


class NoticeStatus(StrEnum):
    """Where a notice stands. PENDING and PROCESSING move on; the others are final."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SENT = "SENT"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"

    @property
    def final(self) -> bool:
        return self not in (NoticeStatus.PENDING, NoticeStatus.PROCESSING)


@dataclass
class QuietWindow:
    """An interval (UTC) of the user's quiet hours: no reminder lands inside it."""

    starts_at: datetime
    ends_at: datetime


WAITING_FOR_USER = "waiting for the user to connect their Telegram"
"""Why a notice is held (PENDING, with this as its last error): its user, known by booking
code's key, has not connected a Telegram chat yet. Delivery writes it; the due-but-not-sent gauge
leaves such rows out."""
