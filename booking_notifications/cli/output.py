"""What the CLI prints: booking tables for people, one JSON object with ``--json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from booking_notifications.clock import utc_text, utcnow
from booking_notifications.views import BookingView, NoticeView


def print_view(view: BookingView, *, now: datetime | None = None) -> None:
    print(f"booking {view.booking_id}: {span(view.starts_at, view.ends_at)}, {state(view, now)}")
    if not view.started and view.cancelled_at is None:
        print("  (accepted; its workflow starts as soon as Temporal answers)")
    if not view.notices:
        print("  (notices are being planned: see `booking-notify status` in a moment)")
    for n in view.notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"  {n.key:<16} due {utc_text(n.due_at)}  {n.status}{note}")


def span(starts_at: datetime, ends_at: datetime) -> str:
    """``2026-01-16 10:00:00–11:00:00 UTC``; both dates when the booking ends on another day."""
    start, end = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M:%S}–{end:%H:%M:%S} UTC"
    return f"{start:%Y-%m-%d %H:%M:%S} – {utc_text(end)}"


def state(view: BookingView, now: datetime | None = None) -> str:
    """Cancelled (when), or upcoming / in progress / over at ``now``; and confirmed (when)."""
    if view.cancelled_at is not None:
        return f"cancelled {utc_text(view.cancelled_at)}"
    now = now or utcnow()
    words = "upcoming" if now < view.starts_at else "in progress" if now < view.ends_at else "over"
    if view.confirmed_at is not None:
        words += f", confirmed {utc_text(view.confirmed_at)}"
    return words


def print_json(value: object) -> None:
    print(json.dumps(value, default=json_default, ensure_ascii=False))


def json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def print_notices(notices: list[NoticeView]) -> None:
    for n in notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"booking {n.booking_id:<6} {n.key:<16} due {utc_text(n.due_at)}  {n.status}{note}")
    print(f"{len(notices)} notice(s)")
