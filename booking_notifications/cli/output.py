"""What the CLI prints: booking tables for people, one JSON object with ``--json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from booking_notifications.views import BookingView, NoticeView


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def print_view(view: BookingView) -> None:
    state = (
        f"cancelled {view.cancelled_at:%Y-%m-%d %H:%M:%S} UTC" if view.cancelled_at else "active"
    )
    print(
        f"booking {view.booking_id}: {view.starts_at:%Y-%m-%d %H:%M:%S}–{view.ends_at:%H:%M:%S} UTC, {state}"
    )
    if not view.notices:
        print("  (notices are being planned: see `booking-notify status` in a moment)")
    for n in view.notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"  {n.key:<16} due {n.due_at:%Y-%m-%d %H:%M:%S} UTC  {n.status}{note}")


def print_json(value: object) -> None:
    print(json.dumps(value, default=json_default, ensure_ascii=False))


def json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def print_notices(notices: list[NoticeView]) -> None:
    for n in notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"booking {n.booking_id:<6} {n.key:<16} due {utc(n.due_at)}  {n.status}{note}")
    print(f"{len(notices)} notice(s)")
