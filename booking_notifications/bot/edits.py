"""Editing the message a person tapped: the bot shows a tap's outcome in place."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message

from booking_notifications.channels import Keyboard, UrlButton
from booking_notifications.channels.telegram import inline_keyboard
from booking_notifications.channels.telegram_errors import FailedAnswer


def kept_rows(markup: InlineKeyboardMarkup | None) -> Keyboard:
    """A message's buttons as (label, data) rows, to keep them through an edit."""
    if markup is None:
        return ()
    return [
        [UrlButton(b.text, b.url) if b.url else (b.text, b.callback_data or "") for b in row]
        for row in markup.inline_keyboard
    ]


async def edit(message: Message, text: str, keyboard: Keyboard) -> None:
    """Edit a message's text and buttons; an edit that changes nothing is fine (a double tap)."""
    try:
        await message.edit_text(text, reply_markup=inline_keyboard(keyboard))
    except FailedAnswer as err:
        if not (isinstance(err.error, TelegramBadRequest) and "not modified" in err.error.message):
            raise
