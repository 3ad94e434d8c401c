"""The buttons under messages, labelled in the user's language, with signed data.

Reminder and start notices carry "✅ I'll be there" and "❌ Cancel booking"; tapping the latter
asks first, with "Yes, cancel" and "Keep it"; /settings shows a toggle per topic a user may mute.
Labels are gettext messages, like the notices' texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from booking_notifications.channels import Keyboard, UrlButton
from booking_notifications.core.domain import NoticeKind
from booking_notifications.core.topics import Topic
from booking_notifications.texts.actions import BookingAction, SettingsAction, Signer
from booking_notifications.texts.messages import _, catalogue, language_of

CONFIRM = _("✅ I'll be there")
ASK_CANCEL = _("❌ Cancel booking")
YES_CANCEL = _("Yes, cancel")
KEEP = _("Keep it")
RESUME = _("🔔 Resume notices")
OPEN_BOOKING = _("Open booking")
TOPIC_LABELS = {
    Topic.DAY_REMINDERS: _("Reminders a day before"),
    Topic.HOUR_REMINDERS: _("Reminders an hour before"),
    Topic.START: _("When it starts"),
    Topic.END: _("When it ends"),
}
WITH_BUTTONS = (NoticeKind.REMINDER, NoticeKind.START)
"""The notices a person can act on: before the booking, and as it starts."""


def translator(language: str | None) -> Callable[[str], str]:
    """The gettext of a user's language (English when we have no catalogue for it)."""
    return catalogue(language_of(language)).gettext


def booking_keyboard(
    signer: Signer, booking_id: int, starts_at: datetime, chat_id: int, language: str | None
) -> Keyboard:
    """ "I'll be there" and "Cancel booking", for a booking as it starts at ``starts_at``."""
    buttons = ((CONFIRM, BookingAction.CONFIRM), (ASK_CANCEL, BookingAction.ASK_CANCEL))
    return _booking_row(signer, buttons, booking_id, starts_at, chat_id, language)


def with_page(keyboard: Keyboard, url: str | None, language: str | None) -> Keyboard:
    """``keyboard`` with an "Open booking" row below it, to the booking's page when it has one."""
    if url is None:
        return keyboard
    return [*keyboard, [UrlButton(translator(language)(OPEN_BOOKING), url)]]


def cancel_question_keyboard(
    signer: Signer, booking_id: int, starts_at: datetime, chat_id: int, language: str | None
) -> Keyboard:
    """ "Yes, cancel" and "Keep it"."""
    buttons = ((YES_CANCEL, BookingAction.CANCEL), (KEEP, BookingAction.KEEP))
    return _booking_row(signer, buttons, booking_id, starts_at, chat_id, language)


def _booking_row(
    signer: Signer,
    buttons: Iterable[tuple[str, BookingAction]],
    booking_id: int,
    starts_at: datetime,
    chat_id: int,
    language: str | None,
) -> Keyboard:
    t = translator(language)
    return [
        [
            (t(label), signer.booking(action, booking_id, starts_at, chat_id))
            for label, action in buttons
        ]
    ]


def settings_keyboard(
    signer: Signer, muted: Iterable[Topic], chat_id: int, language: str | None
) -> Keyboard:
    """A toggle per topic, 🔔 when it is received and 🔕 when muted; one row each."""
    t, off = translator(language), set(muted)
    return [
        [
            (
                f"{'🔕' if topic in off else '🔔'} {t(label)}",
                signer.settings(SettingsAction.TOGGLE, topic.value, chat_id),
            )
        ]
        for topic, label in TOPIC_LABELS.items()
    ]


def resume_keyboard(signer: Signer, chat_id: int, language: str | None) -> Keyboard:
    return [[(translator(language)(RESUME), signer.settings(SettingsAction.RESUME, "", chat_id))]]


def bookings_keyboard(
    signer: Signer,
    bookings: Iterable[tuple[int, datetime]],
    chat_id: int,
    language: str | None,
) -> Keyboard:
    """A ``/bookings`` list's buttons: "I'll be there" and "Cancel booking" for each of its
    ``(booking id, start)``, one row each, numbered as the list is."""
    t = translator(language)
    return [
        [
            (f"{number}. {t(CONFIRM)}", signer.booking(BookingAction.CONFIRM_IN_LIST, *b, chat_id)),
            (f"{number}. {t(ASK_CANCEL)}", signer.booking(BookingAction.ASK_CANCEL, *b, chat_id)),
        ]
        for number, b in enumerate(bookings, start=1)
    ]
