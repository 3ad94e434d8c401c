"""What booking code asks for, checked before anything is started or written.

Every rule raises ``InvalidBooking`` with a message that names the field and the value, so a
caller (or a CSV line) can be corrected without reading a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from booking_notifications.db.models import TITLE_MAX
from booking_notifications.durations import format_duration
from booking_notifications.quiet import QuietHours

DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=1))
MAX_REMINDERS = 10
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?")
TELEGRAM_CHAT_ID_MAX = 2**52
"""Telegram chat ids fit in 52 bits (its documentation promises it); larger is a typo."""


class InvalidBooking(ValueError):
    """A booking that cannot be scheduled as given; nothing was started or written."""


@dataclass(frozen=True)
class BookingRequest:
    """A booking whose owner should be notified.

    ``ref`` is the booking service's own key: scheduling the same ref twice schedules it once.
    Times must carry a time zone; ``time_zone`` is the user's, used to show local times.
    """

    chat_id: int
    starts_at: datetime
    ends_at: datetime
    title: str | None = None
    reminders: Sequence[timedelta] = DEFAULT_REMINDERS
    start_notice: bool = True
    end_notice: bool = True
    time_zone: str | None = None
    language: str | None = None
    quiet_hours: str | None = None
    """The user's local quiet hours, ``22:00-08:00``: reminders are moved to before them."""
    ref: str | None = None

    def validated(self, now: datetime) -> BookingRequest:
        """This request if every rule holds at ``now``; otherwise ``InvalidBooking``."""
        if isinstance(self.chat_id, bool) or not isinstance(self.chat_id, int):
            raise InvalidBooking(f"chat_id must be an integer, not {self.chat_id!r}")
        if self.chat_id == 0 or abs(self.chat_id) >= TELEGRAM_CHAT_ID_MAX:
            raise InvalidBooking(f"chat_id {self.chat_id} is not a Telegram chat id")
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if not isinstance(value, datetime):
                raise InvalidBooking(f"{name} must be a datetime, not {value!r}")
            if value.tzinfo is None or value.utcoffset() is None:
                raise InvalidBooking(f"{name} {value.isoformat()} has no time zone")
        if self.ends_at <= self.starts_at:
            raise InvalidBooking(
                f"ends_at {self.ends_at.isoformat()} is not after starts_at "
                f"{self.starts_at.isoformat()}"
            )
        if self.starts_at <= now:
            raise InvalidBooking(f"starts_at {self.starts_at.isoformat()} is in the past")
        check_reminders(self.reminders)
        if self.title is not None and len(self.title) > TITLE_MAX:
            raise InvalidBooking(f"title is {len(self.title)} characters; the limit is {TITLE_MAX}")
        if self.time_zone is not None:
            check_time_zone(self.time_zone)
        if self.language is not None:
            check_language(self.language)
        if self.quiet_hours is not None:
            try:
                QuietHours.parse(self.quiet_hours)
            except ValueError as err:
                raise InvalidBooking(str(err)) from None
        if self.ref is not None and not 0 < len(self.ref) <= 128:
            raise InvalidBooking("ref must be 1 to 128 characters")
        return self


def check_reminders(reminders: Sequence[timedelta]) -> None:
    """Reminder offsets must be whole positive seconds, distinct, and at most ten."""
    seen: set[int] = set()
    for offset in reminders:
        if not isinstance(offset, timedelta) or offset <= timedelta(0):
            raise InvalidBooking(f"reminder offset {offset!r} must be a positive duration")
        if offset % timedelta(seconds=1):
            raise InvalidBooking(f"reminder offset {offset} must be whole seconds")
        seconds = int(offset.total_seconds())
        if seconds in seen:
            raise InvalidBooking(f"reminder offset {format_duration(seconds)} is given twice")
        seen.add(seconds)
    if len(seen) > MAX_REMINDERS:
        raise InvalidBooking(f"{len(seen)} reminders; at most {MAX_REMINDERS}")


def check_time_zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (IANA, e.g. Europe/Berlin); ``InvalidBooking`` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        raise InvalidBooking(
            f"unknown time zone {name!r}: use an IANA name like Europe/Berlin"
        ) from None


def check_language(code: str) -> str:
    """A language code Babel knows (``en``, ``ru``, ``pt_BR``); ``InvalidBooking`` otherwise."""
    if not _LANGUAGE.fullmatch(code):
        raise InvalidBooking(f"unknown language {code!r}: use a code like en or ru")
    try:
        Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidBooking(f"unknown language {code!r}: use a code like en or ru") from None
    return code
