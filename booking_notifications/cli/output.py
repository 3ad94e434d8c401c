"""What the CLI prints: booking tables for people, one JSON object with ``--json``."""

from __future__ import annotations

import json
from datetime import datetime

from booking_notifications.clock import utc_text
from booking_notifications.views import BookingView, NoticeView


def print_view(view: BookingView) -> None:
    state = f"cancelled {utc_text(view.cancelled_at)}" if view.cancelled_at else "active"
    print(
        f"booking {view.booking_id}: {view.starts_at:%Y-%m-%d %H:%M:%S}–{view.ends_at:%H:%M:%S} UTC, {state}"
    )
    if not view.notices:
        print("  (notices are being planned: see `booking-notify status` in a moment)")
    for n in view.notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"  {n.key:<16} due {utc_text(n.due_at)}  {n.status}{note}")


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
