"""The notice plan of a booking: a pure function of its times, its options and the current moment.

Each notice gets a due time and a *latest* time. Between the two it may still be sent; past the
latest time it is stale and is skipped with a reason, never sent late. The tolerances:

- a reminder may run late by a quarter of its offset, at most one hour (24 h → 1 h, 1 h → 15 min,
  2 min → 30 s), and never past the start: "starts in 1 hour" after the start is wrong;
- the start notice may run 15 minutes late, never past the end;
- the end notice and the cancellation and move notices may run an hour late.

A reminder that would land in the user's quiet hours is moved to just before they begin (its
latest moment becomes their start); start, end, cancel and move notices are never held back.
Offsets are elapsed time: "24 h before" is 24 hours before the start, whatever the clocks do.

The same rule decides at planning time (a booking made 3 hours ahead gets no 24 h reminder) and
when a timer fires late after an outage.

The plan of a booking sleeping in a workflow must not change under it (a replay would diverge),
so each booking carries the version of the rules it was planned by, for life:

1. the first rules, for bookings started before ``plan_version`` existed;
2. quiet hours, for new bookings: a reminder whose slot before quiet hours has passed goes out
   when they end instead, within its tolerance and before the start (rules 1 skipped it); a
   slot before them shorter than the margin (quiet ``00:00-23:59``) is used as it is, where
   rules 1 moved the reminder into the previous night's window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from booking_notifications.core.clock import utc_text
from booking_notifications.core.domain import NoticeKind, NoticeStatus, QuietWindow
from booking_notifications.core.durations import format_duration
from booking_notifications.workflows.types import BookingInput, Notice

REMINDER_TOLERANCE_SHARE = 4
REMINDER_TOLERANCE_MAX = timedelta(hours=1)
START_TOLERANCE = timedelta(minutes=15)
END_TOLERANCE = timedelta(hours=1)
CANCEL_TOLERANCE = timedelta(hours=1)
QUIET_MARGIN = timedelta(minutes=5)
"""A reminder moved out of quiet hours is due this long before they begin (or its tolerance)."""
PLAN_VERSION = 2
"""The rules new bookings are planned by (``BookingInput.plan_version``)."""
QUIET_REACH = timedelta(days=2)
"""The planner never looks at a quiet window farther than this from a reminder's due time (a
window lasts under a day, DST included), so a booking's input need carry no other."""

_KIND_ORDER = {
    NoticeKind.MOVED: 0,
    NoticeKind.REMINDER: 1,
    NoticeKind.START: 2,
    NoticeKind.END: 3,
    NoticeKind.CANCEL: 4,
}


def reminder_key(offset_seconds: int) -> str:
    """The row key of a reminder: ``reminder_24h``, ``reminder_1h30m``."""
    return f"reminder_{format_duration(offset_seconds)}"


def plan_notices(booking: BookingInput, now: datetime) -> list[Notice]:
    """The notices of a booking in due order; those already stale at ``now`` come out SKIPPED."""
    quiet = _merged(booking.quiet) if booking.plan_version >= 2 else booking.quiet
    notices = [_reminder(booking, offset, quiet, now) for offset in sorted(set(booking.reminders))]
    if booking.start_notice:
        latest = min(booking.starts_at + START_TOLERANCE, booking.ends_at)
        notices.append(Notice("start", NoticeKind.START, booking.starts_at, latest))
    if booking.end_notice:
        notices.append(
            Notice("end", NoticeKind.END, booking.ends_at, booking.ends_at + END_TOLERANCE)
        )
    for notice in notices:
        if now > notice.latest_at:
            skip(notice, f"too late when planned at {utc_text(now)}: due {utc_text(notice.due_at)}")
    return sorted(notices, key=lambda n: (n.due_at, _KIND_ORDER[n.kind]))


def cancel_notice(now: datetime) -> Notice:
    """The cancellation notice: due at once."""
    return Notice("cancel", NoticeKind.CANCEL, now, now + CANCEL_TOLERANCE)


def moved_notice(now: datetime, revision: int) -> Notice:
    """The "booking moved" notice of the ``revision``-th move: due at once."""
    return Notice(f"moved_{revision}", NoticeKind.MOVED, now, now + CANCEL_TOLERANCE)


def replan(current: list[Notice], fresh: list[Notice], revision: int) -> list[Notice]:
    """Fold a new plan into the current one after a move; return the notices whose rows change.

    A notice not yet sent moves in place (or becomes SKIPPED when its new moment is too late, or
    PENDING again when a later start brings it back). A notice already sent or failed keeps its
    row as the record of what happened; when its new moment is still ahead it is re-armed as a
    new notice keyed ``<key>.<revision>``.
    """
    latest = {base_key(n.key): n for n in current if n.kind is not NoticeKind.MOVED}
    changed = []
    for new in fresh:
        old = latest.get(new.key)
        if old is not None and old.status in (NoticeStatus.PENDING, NoticeStatus.SKIPPED):
            old.due_at, old.latest_at = new.due_at, new.latest_at
            old.status, old.reason = new.status, new.reason
            changed.append(old)
        elif old is None or new.status is NoticeStatus.PENDING:
            if old is not None:
                new.key = f"{new.key}.{revision}"
            current.append(new)
            changed.append(new)
    return changed


def base_key(key: str) -> str:
    """The plan key of a notice, without the revision a re-armed one carries."""
    return key.split(".", 1)[0]


def skip(notice: Notice, reason: str) -> None:
    """Mark a notice SKIPPED with the reason."""
    notice.status = NoticeStatus.SKIPPED
    notice.reason = reason


def skip_reason_when_due(notice: Notice, now: datetime) -> str | None:
    """Why a notice whose timer fires at ``now`` must be skipped (past its latest moment), or None
    when it may be sent. The workflow's view; the delivery checks again at send time, in SQL."""
    if now <= notice.latest_at:
        return None
    late = format_duration(max(int((now - notice.due_at).total_seconds()), 1))
    return f"{late} late, past its tolerance (latest {utc_text(notice.latest_at)})"


def next_pending(notices: Iterable[Notice]) -> Notice | None:
    """The earliest notice still PENDING."""
    pending = [n for n in notices if n.status is NoticeStatus.PENDING]
    return min(pending, key=lambda n: n.due_at, default=None)


def _reminder(
    booking: BookingInput, offset_seconds: int, quiet: list[QuietWindow], now: datetime
) -> Notice:
    offset = timedelta(seconds=offset_seconds)
    due = booking.starts_at - offset
    tolerance = min(offset / REMINDER_TOLERANCE_SHARE, REMINDER_TOLERANCE_MAX)
    latest = min(due + tolerance, booking.starts_at)
    if booking.plan_version >= 2:
        due, latest = _out_of_quiet(due, latest, tolerance, booking.starts_at, quiet, now)
    else:
        for window in quiet:
            if (
                window.starts_at <= due < window.ends_at
                or window.starts_at < latest <= window.ends_at
            ):
                latest = min(window.starts_at, latest)
                due = min(due, latest - min(tolerance, QUIET_MARGIN))
    return Notice(reminder_key(offset_seconds), NoticeKind.REMINDER, due, latest, offset_seconds)


def _out_of_quiet(
    due: datetime,
    latest: datetime,
    tolerance: timedelta,
    start: datetime,
    quiet: list[QuietWindow],
    now: datetime,
) -> tuple[datetime, datetime]:
    """Rules 2: the reminder's due and latest moments, clear of the (merged, ordered) windows.

    Due inside a window, it goes out in the slot just before the window while that is still
    ahead, else in the slot just after it (within its tolerance, before the start and the next
    window) when the window ends before the start. Due outside, it must go out before the next
    window begins.
    """
    margin = min(tolerance, QUIET_MARGIN)
    earlier = [w for w in quiet if w.ends_at <= due]
    ahead = [w for w in quiet if w.ends_at > due]
    previous_end = earlier[-1].ends_at if earlier else None
    if not ahead or ahead[0].starts_at > due:  # due outside quiet hours
        if ahead and ahead[0].starts_at < latest:
            latest = ahead[0].starts_at
            due = min(due, latest - margin)
            if previous_end is not None:
                due = max(due, previous_end)
        return due, latest
    window = ahead[0]
    before_due = window.starts_at - margin
    if previous_end is not None:
        before_due = max(before_due, previous_end)
    following = ahead[1].starts_at if len(ahead) > 1 else start
    after_latest = min(window.ends_at + tolerance, start, following)
    if now <= window.starts_at or window.ends_at >= after_latest:
        return before_due, window.starts_at
    return window.ends_at, after_latest


def _merged(quiet: list[QuietWindow]) -> list[QuietWindow]:
    """The windows in order, overlapping and touching ones joined, empty ones dropped."""
    merged: list[QuietWindow] = []
    for window in sorted(quiet, key=lambda w: w.starts_at):
        if window.starts_at >= window.ends_at:
            continue
        if merged and window.starts_at <= merged[-1].ends_at:
            last = merged[-1]
            merged[-1] = QuietWindow(last.starts_at, max(last.ends_at, window.ends_at))
        else:
            merged.append(QuietWindow(window.starts_at, window.ends_at))
    return merged
