"""Message texts: each notice kind rendered as Telegram HTML in the user's time zone.

Every string that comes from booking code (the title, the cancel reason) is escaped, so a title
like ``<b>`` cannot break Telegram's HTML parser. Dates are formatted with Babel.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time, format_timedelta

from booking_notifications.workflows.types import NoticeKind

TELEGRAM_TEXT_MAX = 4096


@dataclass(frozen=True)
class MessageContext:
    """What a message may mention: loaded from SQL at send time, never from workflow history."""

    booking_id: int
    title: str | None
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    language: str = "en"
    cancel_reason: str | None = None


def render(kind: NoticeKind, ctx: MessageContext, *, now: datetime) -> str:
    """The HTML text of a notice; ``now`` is the send moment (reminders say how long is left)."""
    title = f"<b>{html.escape(ctx.title or f'Booking #{ctx.booking_id}')}</b>"
    zone = ZoneInfo(ctx.time_zone)
    when = format_datetime(ctx.starts_at, "EEE d MMM, HH:mm", tzinfo=zone, locale=ctx.language)
    until = format_time(ctx.ends_at, "HH:mm", tzinfo=zone, locale=ctx.language)
    tz_label = html.escape(ctx.time_zone)
    if kind is NoticeKind.REMINDER:
        left = format_timedelta(max(ctx.starts_at - now, timedelta(0)), locale=ctx.language)
        text = f"⏰ Reminder: {title} starts in {left}: {when}–{until} ({tz_label})."
    elif kind is NoticeKind.START:
        text = f"▶️ {title} starts now: {when}–{until} ({tz_label})."
    elif kind is NoticeKind.END:
        text = f"✅ {title} has ended ({when}–{until}, {tz_label})."
    elif kind is NoticeKind.MOVED:
        text = f"📅 {title} has moved: now {when}–{until} ({tz_label})."
    else:
        text = f"❌ {title} on {when}–{until} ({tz_label}) is cancelled."
        if ctx.cancel_reason:
            text += f"\nReason: {html.escape(ctx.cancel_reason)}"
    return text
