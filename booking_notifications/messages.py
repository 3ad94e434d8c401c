"""Message texts: each notice kind rendered as Telegram HTML, in the user's language and zone.

Texts are gettext messages (English source, catalogues under ``locale/``, compiled in memory
from their ``.po`` files with Babel); dates and durations are formatted by Babel for the same
language in the user's time zone. A language without a catalogue falls back to English, dates
included, so a message never mixes two languages. Every string that comes from booking code (the
title, the cancel reason) is escaped, so a title like ``<b>`` cannot break Telegram's HTML; a
title is shown without its surrounding whitespace, and a blank one as "Booking #<id>".
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from io import BytesIO
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from booking_notifications.workflows.types import NoticeKind

TELEGRAM_TEXT_MAX = 4096
LANGUAGES = ("en", "ru")
"""Languages with a catalogue; English is the source language."""


def _(message: str) -> str:
    """Marks a text for extraction (``pybabel extract``); it is translated in ``render``."""
    return message


TEXTS = {
    NoticeKind.REMINDER: _(
        "⏰ Reminder: %(title)s starts in %(left)s: %(when)s–%(until)s (%(zone)s)."
    ),
    NoticeKind.START: _("▶️ %(title)s starts now: %(when)s–%(until)s (%(zone)s)."),
    NoticeKind.END: _("✅ %(title)s has ended (%(when)s–%(until)s, %(zone)s)."),
    NoticeKind.MOVED: _("📅 %(title)s has moved: now %(when)s–%(until)s (%(zone)s)."),
    NoticeKind.CANCEL: _("❌ %(title)s on %(when)s–%(until)s (%(zone)s) is cancelled."),
}
REASON = _("Reason: %(reason)s")
UNTITLED = _("Booking #%(id)s")


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


def render(kind: NoticeKind, ctx: MessageContext, *, now: datetime) -> str:
    """The HTML text of a notice; ``now`` is the send moment (reminders say how long is left)."""
    lang = language_of(ctx.language)
    gettext = catalogue(lang).gettext
    zone = ZoneInfo(ctx.time_zone)
    title = (ctx.title or "").strip() or gettext(UNTITLED) % {"id": ctx.booking_id}
    values = {
        "title": f"<b>{html.escape(title)}</b>",
        "when": format_datetime(ctx.starts_at, "EEE d MMM, HH:mm", tzinfo=zone, locale=lang),
        "until": format_time(ctx.ends_at, "HH:mm", tzinfo=zone, locale=lang),
        "zone": html.escape(ctx.time_zone),
        "left": format_timedelta(max(ctx.starts_at - now, timedelta(0)), locale=lang),
    }
    text = gettext(TEXTS[kind]) % values
    if kind is NoticeKind.CANCEL and ctx.cancel_reason:
        text += "\n" + gettext(REASON) % {"reason": html.escape(ctx.cancel_reason)}
    return text


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
