"""What booking code asks for, checked before anything is started or written.

Every rule raises ``InvalidBooking`` with a message that names the field and the value, so a
caller (or a CSV line) can be corrected without reading a traceback.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from yarl import URL

from booking_notifications.core.durations import format_duration
from booking_notifications.core.limits import reminder_problem, times_problem
from booking_notifications.core.quiet import QuietHours
from booking_notifications.db.models import CANCEL_REASON_MAX, TITLE_MAX, URL_MAX

DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=1))
MAX_REMINDERS = 10
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?")
TELEGRAM_CHAT_ID_MAX = 2**52
"""Telegram chat ids fit in 52 bits (its documentation promises it); larger is a typo."""


NO_QUIET_HOURS = ("", "none", "off")
"""What clears a user's quiet hours."""


class InvalidBooking(ValueError):
    """A booking that cannot be scheduled as given; nothing was started or written."""


@dataclass(frozen=True, kw_only=True)
class BookingRequest:
    """A booking whose owner should be notified.

    The owner is a Telegram ``chat_id``, or booking code's own key for the user, ``user_ref``:
    a user known by their key gets their notices once they have opened a connect link
    (``BookingNotifier.link``); until then the notices wait. ``ref`` is the booking service's
    own key for the booking: scheduling the same ref twice schedules it once.
    Times must carry a time zone; ``time_zone`` is the user's, used to show local times. A time
    in a ZoneInfo must be a reading its clocks show (not one a DST change skips); of a reading
    shown twice, ``fold`` says which (0, the default, is the first).
    """

    chat_id: int | None = None
    user_ref: str | None = None
    starts_at: datetime
    ends_at: datetime
    title: str | None = None
    reminders: Sequence[timedelta] = DEFAULT_REMINDERS
    start_notice: bool = True
    end_notice: bool = True
    time_zone: str | None = None
    language: str | None = None
    quiet_hours: str | None = None
    """The user's local quiet hours, ``22:00-08:00``: reminders are moved out of them. ``None``
    keeps what the user has; ``"none"`` (or ``""``) clears them."""
    ref: str | None = None
    url: str | None = None
    """The booking's page in the booking service (``https://…``): reminders carry an "Open
    booking" button to it, the way to move a booking by the service's own rules. Kept in SQL
    only, like the title."""

    def validated(self, now: datetime) -> BookingRequest:
        """This request as it is to be stored, if every rule holds at ``now``; otherwise
        ``InvalidBooking``.

        The copy returned has its times in UTC, its title without surrounding blanks and its
        quiet hours in their canonical form (``22:00-08:00``): store that, not the original.
        """
        if (self.chat_id is None) == (self.user_ref is None):
            raise InvalidBooking("give the owner as chat_id or as user_ref, one of the two")
        if self.chat_id is not None:
            check_chat_id(self.chat_id)
        if self.user_ref is not None:
            check_user_ref(self.user_ref)
        starts_at, ends_at = check_times(self.starts_at, self.ends_at, now)
        check_reminders(self.reminders)
        title = None if self.title is None else check_title(self.title)
        if self.time_zone is not None:
            check_time_zone(self.time_zone)
        if self.language is not None:
            check_language(self.language)
        quiet_hours = None
        if self.quiet_hours is not None and self.quiet_hours.strip().lower() in NO_QUIET_HOURS:
            quiet_hours = ""  # clear the user's quiet hours
        elif self.quiet_hours is not None:
            try:
                quiet_hours = str(QuietHours.parse(self.quiet_hours))
            except ValueError as err:
                raise InvalidBooking(str(err)) from None
        if self.ref is not None:
            if not 0 < len(self.ref) <= 128:
                raise InvalidBooking("ref must be 1 to 128 characters")
            check_text("ref", self.ref)
        if self.url is not None:
            check_url(self.url)
        return dataclasses.replace(
            self, starts_at=starts_at, ends_at=ends_at, title=title, quiet_hours=quiet_hours
        )


def check_url(url: object) -> str:
    """A booking's page: an absolute ``http``/``https`` URL with a host, within ``URL_MAX``
    characters and free of blanks (what Telegram takes as a URL button)."""
    if not isinstance(url, str) or not 0 < len(url) <= URL_MAX:
        raise InvalidBooking(f"url must be 1 to {URL_MAX} characters")
    check_text("url", url)
    try:
        parsed = URL(url)
        absolute = parsed.scheme in ("http", "https") and bool(parsed.host)
    except ValueError:
        absolute = False
    if not absolute or any(char.isspace() for char in url):
        raise InvalidBooking(f"url {_shown(url)} is not an http:// or https:// URL with a host")
    return url


def check_chat_id(chat_id: object) -> int:
    """A Telegram chat id: a non-zero integer of at most 52 bits."""
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise InvalidBooking(f"chat_id must be an integer, not {chat_id!r}")
    if chat_id == 0 or abs(chat_id) >= TELEGRAM_CHAT_ID_MAX:
        raise InvalidBooking(f"chat_id {chat_id} is not a Telegram chat id")
    return chat_id


def check_user_ref(user_ref: object) -> str:
    """Booking code's key for a user: 1 to 128 printable characters."""
    if not isinstance(user_ref, str) or not 0 < len(user_ref) <= 128:
        raise InvalidBooking(f"user_ref must be 1 to 128 characters, not {user_ref!r}")
    check_text("user_ref", user_ref)
    return user_ref


def check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """A booking's start and end in UTC, judged as instants (see ``times_problem``) at ``now``;
    ``InvalidBooking`` naming the field and the value otherwise."""
    problem = times_problem(starts_at, ends_at, now)
    if problem is not None:
        raise InvalidBooking(problem)
    return starts_at.astimezone(UTC), ends_at.astimezone(UTC)


def check_title(title: str) -> str:
    """The title as one line: blanks around it dropped and every run of blanks inside it (line
    breaks and tabs too, as a spreadsheet cell may hold) made one space. A blank one (spaces,
    invisible format characters) is refused rather than shown empty: no title is ``None``, and
    messages then name the booking by its number."""
    if all(char.isspace() or unicodedata.category(char) == "Cf" for char in title):
        raise InvalidBooking("title is blank: give a title or none")
    return _one_line("title", title, TITLE_MAX)


def check_cancel_reason(reason: str | None) -> str | None:
    """A cancel reason as it is stored and shown: one line like a title, at most
    ``CANCEL_REASON_MAX`` characters; a blank one is no reason."""
    if reason is None or not reason.strip():
        return None
    return _one_line("cancel reason", reason, CANCEL_REASON_MAX)


def _one_line(field: str, text: str, limit: int) -> str:
    """``text`` with every run of blanks made one space and none around it, within ``limit``
    characters and free of control characters."""
    line = " ".join(text.split())
    if len(line) > limit:
        raise InvalidBooking(f"{field} is {len(line)} characters; the limit is {limit}")
    check_text(field, line)
    return line


def check_text(field: str, text: str) -> None:
    """Refuse control characters (NUL, line breaks, escapes) and lone surrogates: a title is one
    line of a message, a ref is a key, and PostgreSQL cannot store a NUL or a surrogate."""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            kind = "control character"
        elif category == "Cs":
            kind = "lone surrogate"
        else:
            continue
        raise InvalidBooking(f"{field} {_shown(text)} contains the {kind} U+{ord(char):04X}")


def _shown(text: str) -> str:
    """A text as a message shows it: quoted and escaped, cut after 40 characters."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def check_reminders(reminders: Sequence[timedelta]) -> None:
    """Reminder offsets must be whole positive seconds up to ``MAX_REMINDER``, distinct, and at
    most ten."""
    seen: set[int] = set()
    for offset in reminders:
        problem = reminder_problem(offset)
        if problem is not None:
            raise InvalidBooking(problem)
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
