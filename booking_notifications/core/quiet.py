"""Quiet hours: a daily local window (e.g. 22:00–08:00) in which reminders are not delivered.

The user's window is turned into absolute UTC intervals here, at scheduling time, so the
workflow gets times only (no time zone, nothing personal) and its planning stays pure. Each day's
window is placed with the zone's rules for that day, so it follows DST changes: it begins the
first time the clocks reach its start (when they jump past a skipped one) and ends the last time
they reach its end from below, so no moment whose clock reads inside quiet hours is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking_notifications.core.domain import QuietWindow
from booking_notifications.core.wallclock import first_instant, last_instant

_FORM = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True)
class QuietHours:
    """From ``start`` to ``end`` local time every day; ``end`` before ``start`` spans midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``22:00-08:00``; ``ValueError`` naming the text otherwise."""
        match = _FORM.match(text)
        if match is None:
            raise ValueError(f"quiet hours {text!r} must look like 22:00-08:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        hours = cls(time(h1, m1), time(h2, m2))
        if hours.start == hours.end:
            raise ValueError(f"quiet hours {text!r} start and end at the same time")
        return hours

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def windows(self, zone: ZoneInfo, since: datetime, until: datetime) -> list[QuietWindow]:
        """The UTC intervals of quiet hours that overlap ``[since, until]``, in order.

        A day whose every quiet reading the clocks skip has no window.
        """
        since, until = since.astimezone(UTC), until.astimezone(UTC)  # instants, not readings
        found = []
        day = since.astimezone(zone).date() - timedelta(days=1)
        last = until.astimezone(zone).date()
        while day <= last:
            begins = first_instant(day, self.start, zone)
            end_day = day if self.end > self.start else day + timedelta(days=1)
            ends = last_instant(end_day, self.end, zone)
            if begins < ends and ends > since and begins < until:
                found.append(QuietWindow(begins, ends))
            day += timedelta(days=1)
        return found

    def windows_near(
        self,
        zone: ZoneInfo,
        moments: Iterable[datetime],
        reach: timedelta,
        since: datetime,
        until: datetime,
    ) -> list[QuietWindow]:
        """The windows of ``windows(zone, since, until)`` that come within ``reach`` of a moment.

        A booking's planner looks at no other, so its input need not carry them: without this
        the windows grow with the lead time (a booking ten years ahead had 3,651 of them).
        """
        since, until = since.astimezone(UTC), until.astimezone(UTC)
        spans = sorted((max(m - reach, since), min(m + reach, until)) for m in moments)
        found: dict[datetime, QuietWindow] = {}
        for low, high in spans:
            if low <= high:
                found.update((w.starts_at, w) for w in self.windows(zone, low, high))
        return [found[key] for key in sorted(found)]
