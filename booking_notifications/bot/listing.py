"""``/bookings``: the person's upcoming bookings in one message, with a row of buttons each.

One message, not one per booking: Telegram lets a bot send about one message a second to a chat,
and the list must come at once. Each row carries the same signed buttons as a reminder, so a tap
passes the same checks (the owner, a booking moved or over since) and "Cancel booking" asks and
then cancels through the same final cancel. "I'll be there" under the list shows the list again,
updated, rather than a line that would not say which booking it was about.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from booking_notifications.api.users import UPCOMING_SHOWN
from booking_notifications.api.views import BookingCard
from booking_notifications.channels import Keyboard
from booking_notifications.texts import bot as texts
from booking_notifications.texts.actions import Signer
from booking_notifications.texts.keyboards import bookings_keyboard, translator
from booking_notifications.texts.messages import booking_name, format_span, language_of


def bookings_list(
    cards: Sequence[BookingCard], signer: Signer, chat_id: int, language: str, now: datetime
) -> tuple[str, Keyboard]:
    """The text (Telegram HTML, live times) and the buttons of a ``/bookings`` answer.

    ``cards`` are the chat's upcoming bookings, soonest first, as ``people.upcoming`` gives
    them: the first ``UPCOMING_SHOWN`` are listed, and one more says there are more.
    """
    t = translator(language)
    if not cards:
        return t(texts.NO_BOOKINGS), ()
    shown = cards[:UPCOMING_SHOWN]
    lines = [t(texts.BOOKINGS)]
    for number, card in enumerate(shown, start=1):
        line = texts.BOOKING_CONFIRMED if card.confirmed else texts.BOOKING_UNCONFIRMED
        span = format_span(
            card.starts_at,
            card.ends_at,
            card.time_zone,
            language_of(card.language),
            now=now,
            live=True,
        )
        lines.append(
            t(line)
            % {
                "number": number,
                "title": booking_name(card.title, card.booking_id, card.language),
                "span": span,
                "zone": html.escape(card.time_zone),
            }
        )
    if len(cards) > len(shown):
        lines.append(t(texts.MORE_BOOKINGS) % {"count": len(shown)})
    rows = [(card.booking_id, card.starts_at) for card in shown]
    return "\n".join(lines), bookings_keyboard(signer, rows, chat_id, language)
