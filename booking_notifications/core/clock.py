"""The wall clock, injectable (activities judge staleness by it and the API plans by it), and how
a moment is written in reasons, logs and tables: UTC to the second. Pure: workflows use it too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_text(moment: datetime) -> str:
    """``2026-11-29 10:00:00 UTC``."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
