"""Message texts: each notice kind rendered as Telegram HTML, in the user's language and zone.

Texts are gettext messages (English source, catalogues under ``locale/``, compiled in memory
from their ``.po`` files with Babel); dates and durations are formatted by Babel for the same
language in the user's time zone. A language without a catalogue falls back to English, dates
included, so a message never mixes two languages. Every string that comes from booking code (the
title, the cancel reason) is escaped, so a title like ``<b>`` cannot break Telegram's HTML; a
title is shown without its surrounding whitespace, and a blank one as "Booking #<id>".

When a booking is (``format_span``): "Thu 15 Jan, 10:00–11:00" within one local day; both dates
when it ends on another local day ("Wed 1 Jul, 14:00 – Thu 2 Jul, 11:00", the locale's interval
dash; an end at midnight is on the next day, so it is never taken for the start's midnight); a
date's year only when it is not the year of the send moment. All in the user's zone.

How long a reminder says is left (``format_time_left``), exact enough to act on:

- seconds round to the nearest minute, a half minute down: a delivery a few seconds late still
  reads "in 1 day", and the text is never more than 30 s over the truth (90 s before the start
  reads "in 1 minute": seconds would be stale by the time the message is read);
- then the two largest adjacent units are shown, days at most (no weeks: "in 10 days" is what
  one acts on), and what lies below them is dropped, never rounded up: "in 1 hour 30 minutes",
  "in 1 day 2 hours" for 1 d 2 h 59 min, "in 21 hours", "in 6 days";
- what rounds to no minute (half a minute or less) reads "in less than a minute", so a 1-minute
  reminder a moment late still says "in 1 minute"; at or past the start (reminders are skipped
  by then, but ``render`` is a pure function) it reads "now".

Each unit is CLDR's relative-future phrase ("in {0} hours", "через {0} минуту"), which carries
the case that Russian needs after "через" for every number; a second unit takes the same phrase
without the direction word ("через 1 час 21 минуту").
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_time, format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from booking_notifications.core.domain import NoticeKind

TELEGRAM_TEXT_MAX = 4096
LANGUAGES = ("en", "ru")
"""Languages with a catalogue; English is the source language."""


def _(message: str) -> str:
    """Marks a text for extraction (``pybabel extract``); it is translated in ``render``."""
    return message


TEXTS = {
    NoticeKind.REMINDER: _("⏰ Reminder: %(title)s %(starts_in)s: %(span)s (%(zone)s)."),
    NoticeKind.START: _("▶️ %(title)s starts now: %(span)s (%(zone)s)."),
    NoticeKind.END: _("✅ %(title)s has ended (%(span)s, %(zone)s)."),
    NoticeKind.MOVED: _("📅 %(title)s has moved: now %(span)s (%(zone)s)."),
    NoticeKind.CANCEL: _("❌ %(title)s on %(span)s (%(zone)s) is cancelled."),
}
STARTS_IN = _("starts %(left)s")
"""A reminder's time left, verb included: the live relative time is this whole phrase, so an app
that shows its own ("in 2 hours", "через 2 часа") in its place reads "Court 3 in 2 hours"."""
REASON = _("Reason: %(reason)s")
CANCELLED_IN_TELEGRAM = _("cancelled in Telegram")
"""The reason the bot records for a cancel tapped in Telegram (English in the row)."""
OWN_REASONS = frozenset({CANCELLED_IN_TELEGRAM})
"""Reasons of ours, shown in the user's language; booking code's reasons are shown as given."""
NAMED = _("%(title)s")
"""A booking named by its title. Russian quotes it, as the texts put it after "бронь" (a noun
every participle agrees with: "Бронь «Корт 3» отменена"), whatever the title's own gender."""
UNTITLED = _("Booking #%(id)s")
LESS_THAN_A_MINUTE = _("in less than a minute")
NOW = _("now")

CANCELLED_MARK = _("❌ Cancelled.")
"""Below a sent message struck through when its booking is cancelled."""
MOVED_TO = _("📅 Moved to %(span)s (%(zone)s).")
"""Below a sent message when its booking has moved."""

MINUTE = timedelta(minutes=1)
Unit = Literal["day", "hour", "minute"]
UNITS: dict[Unit, timedelta] = {
    "day": timedelta(days=1),
    "hour": timedelta(hours=1),
    "minute": MINUTE,
}
"""The units of a time left, largest first (Babel's unit names)."""
DATE_AND_TIME = "EEE d MMM, HH:mm"
DATE_YEAR_AND_TIME = "EEE d MMM y, HH:mm"
TIME = "HH:mm"
DAY_DATE_AND_TIME = "wDt"
"""A moment as Telegram shows a ``date_time`` entity: weekday, date and short time."""
SHORT_TIME = "t"
RELATIVE = "r"
"""A ``date_time`` entity shown as a time left ("in 2 hours"), kept current by the client."""


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


def language_of(code: str | None) -> str:
    """The catalogue language for a user's code (``ru_RU`` → ``ru``); English otherwise."""
    base = (code or "en").replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else "en"


def render(kind: NoticeKind, ctx: MessageContext, *, now: datetime, live: bool = False) -> str:
    """The HTML text of a notice; ``now`` is the send moment (reminders say how long is left).

    ``live`` (what the delivery sends) makes the start, the end and the time left ``date_time``
    entities (``live_time``); the words a reader sees are the same either way.
    """
    lang = language_of(ctx.language)
    gettext = catalogue(lang).gettext
    starts_in = gettext(STARTS_IN) % {"left": format_time_left(ctx.starts_at - now, lang)}
    values = {
        "title": booking_name(ctx.title, ctx.booking_id, lang),
        "span": format_span(ctx.starts_at, ctx.ends_at, ctx.time_zone, lang, now=now, live=live),
        "zone": html.escape(ctx.time_zone),
        "starts_in": live_time(ctx.starts_at, RELATIVE, starts_in) if live else starts_in,
    }
    text = gettext(TEXTS[kind]) % values
    if kind is NoticeKind.CANCEL and ctx.cancel_reason:
        reason = ctx.cancel_reason
        reason = gettext(reason) if reason in OWN_REASONS else reason
        text += "\n" + gettext(REASON) % {"reason": html.escape(reason)}
    return text


def booking_name(title: str | None, booking_id: int, language: str | None) -> str:
    """A booking as the texts name it, bold and escaped: "Court 3", "«Корт 3»", "Booking #7".

    The title is shown without its surrounding whitespace; a blank one names the booking by id.
    """
    gettext = catalogue(language_of(language)).gettext
    title = (title or "").strip()
    if not title:
        return f"<b>{html.escape(gettext(UNTITLED) % {'id': booking_id})}</b>"
    return gettext(NAMED) % {"title": f"<b>{html.escape(title)}</b>"}


def format_time_left(left: timedelta, language: str) -> str:
    """How long until a start, said after "starts": "in 1 hour 30 minutes" (rule: module doc)."""
    lang = language_of(language)
    if left <= timedelta(0):
        return catalogue(lang).gettext(NOW)
    minutes, seconds = divmod(left, MINUTE)
    if seconds > MINUTE / 2:
        minutes += 1
    if minutes == 0:
        return catalogue(lang).gettext(LESS_THAN_A_MINUTE)
    rest, counts = minutes * MINUTE, []
    for unit, size in UNITS.items():
        count, rest = divmod(rest, size)
        counts.append((unit, count))
    leading = next(i for i, (_, count) in enumerate(counts) if count)
    shown = [_in_units(unit, count, lang) for unit, count in counts[leading : leading + 2] if count]
    direction = shown[0][0]
    # CLDR's narrow unit list joins with a space in both languages ("1 hour 30 minutes"); the
    # wide one puts a comma in English ("1 hour, 30 minutes"), which reads as a list.
    return direction + format_list([words for _, words in shown], "unit-narrow", locale=lang)


def _in_units(unit: Unit, count: int, lang: str) -> tuple[str, str]:
    """CLDR's "in N units" phrase split before its number: ``("через ", "21 минуту")``.

    An infinite threshold makes Babel use exactly ``unit`` (it would round 59 minutes up to
    "1 hour"); the future phrase has the case the direction word governs, where the plain
    duration has the nominative ("21 минута", wrong after "через").
    """
    phrase = format_timedelta(
        count * UNITS[unit], threshold=math.inf, granularity=unit, add_direction=True, locale=lang
    )
    direction, number, words = phrase.partition(str(count))
    if not number:
        raise ValueError(f"no number in {lang}'s phrase for {count} {unit}: {phrase!r}")
    return direction, number + words


def live_time(at: datetime, date_time_format: str, text: str) -> str:
    """``text`` as a ``date_time`` entity of the moment ``at`` (Telegram HTML's ``tg-time``).

    A client that knows the entity shows ``at`` in its reader's locale and zone (or, with
    ``RELATIVE``, as a time left that it keeps current); any other client shows ``text``, which
    is why ``text`` must already say the same in the user's language and zone.
    """
    unix = math.floor(at.timestamp())
    return f'<tg-time unix="{unix}" format="{date_time_format}">{text}</tg-time>'


def format_span(
    starts_at: datetime,
    ends_at: datetime,
    time_zone: str,
    language: str,
    *,
    now: datetime,
    live: bool = False,
) -> str:
    """When a booking is, in the user's zone: the end's date when it ends on another day, and
    each date's year when it is not the year of ``now`` there. ``live`` makes the start and the
    end ``date_time`` entities (``live_time``), their text unchanged."""
    lang = language_of(language)
    zone = ZoneInfo(time_zone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    this_year = now.astimezone(zone).year

    def moment(at: datetime) -> str:
        pattern = DATE_AND_TIME if at.year == this_year else DATE_YEAR_AND_TIME
        text = format_datetime(at, pattern, tzinfo=zone, locale=lang)
        return live_time(at, DAY_DATE_AND_TIME, text) if live else text

    if start.date() == end.date():
        end_time = format_time(end, TIME, tzinfo=zone, locale=lang)
        return f"{moment(start)}–{live_time(end, SHORT_TIME, end_time) if live else end_time}"
    interval = str(Locale.parse(lang).interval_formats[None])  # the dash and spaces of the locale
    return interval.replace("{0}", moment(start)).replace("{1}", moment(end))


@cache
def catalogue(lang: str) -> NullTranslations:
    """The translations of a language, compiled once from its ``.po`` file."""
    if lang == "en":
        return NullTranslations()
    source = resources.files("booking_notifications") / "locale" / lang / "LC_MESSAGES"
    with (source / "messages.po").open("rb") as po:
        compiled = BytesIO()
        write_mo(compiled, read_po(po, locale=lang))
    compiled.seek(0)
    return Translations(compiled)
