"""Playing the users: the updates Telegram sends a bot when people write to it or tap buttons.

The shapes are Telegram's: a command in a text carries a ``bot_command`` entity (offsets in UTF-16
code units), a deep link ``https://t.me/<bot>?start=<payload>`` arrives as the text
``/start <payload>``, a tap is a ``callback_query`` holding the message as it is at that moment,
and blocking the bot is a ``my_chat_member`` update. Mistakes in a test (a button the message
does not have, a link to another bot) raise at once instead of producing an update Telegram
could never send.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from booking_notifications.testing.fake_chats import (
    Button,
    CallbackQuery,
    StoredMessage,
    TelegramUser,
    chat_instance,
)
from booking_notifications.testing.fake_html import utf16_length

COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])")
"""A bot command as Telegram marks it: ``/name`` or ``/name@bot``, not inside a word or path."""
START_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What a ``start`` deep-link parameter may hold (Telegram's rule, also aiogram's)."""


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entities Telegram attaches to a user's text."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group()),
        }
        for match in COMMAND.finditer(text)
    ]


def message_update(message: StoredMessage) -> dict[str, Any]:
    """A ``message`` update (without ``update_id``: the queue numbers it)."""
    return {"message": message.to_json()}


def callback_update(query: CallbackQuery, message: StoredMessage) -> dict[str, Any]:
    """A ``callback_query`` update for a tap on ``message`` as it is now."""
    callback: dict[str, Any] = {
        "id": query.id,
        "from": query.user.to_json(),
        "message": message.to_json(),
        "chat_instance": chat_instance(message.chat_id),
    }
    if query.data is not None:
        callback["data"] = query.data
    return {"callback_query": callback}


def member_update(
    user: TelegramUser, bot: dict[str, Any], old: str, new: str, date: int
) -> dict[str, Any]:
    """A ``my_chat_member`` update: the bot's status in ``user``'s private chat changed."""

    def member(status: str) -> dict[str, Any]:
        # a banned ("kicked") member always says until when; 0 is for ever
        return {"user": bot, "status": status} | ({"until_date": 0} if status == "kicked" else {})

    return {
        "my_chat_member": {
            "chat": user.private_chat(),
            "from": user.to_json(),
            "date": date,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    }


def find_button(message: StoredMessage, button: str) -> Button:
    """The callback button a test means, by its label or else by its callback data."""
    buttons = message.buttons()
    matches = [b for b in buttons if b.text == button] or [
        b for b in buttons if b.callback_data == button
    ]
    where = f"message {message.message_id} in chat {message.chat_id}"
    if not matches:
        labels = ", ".join(repr(b.text) for b in buttons) or "no buttons"
        raise LookupError(f"{where} has no button {button!r} (it has {labels})")
    if len(matches) > 1:
        raise LookupError(f"{where} has {len(matches)} buttons {button!r}; tap by callback data")
    if matches[0].callback_data is None:
        raise ValueError(f"button {button!r} of {where} is not a callback button")
    return matches[0]


def start_payload(link: str, username: str) -> str:
    """The payload of a ``https://t.me/<bot>?start=<payload>`` link to this bot."""
    parts = urlsplit(link)
    name = parts.path.strip("/")
    if parts.netloc.lower() not in ("t.me", "telegram.me") or name.lower() != username.lower():
        raise ValueError(f"{link!r} is not a link to @{username}")
    payloads = parse_qs(parts.query, keep_blank_values=True).get("start", [])
    if len(payloads) != 1 or not START_PAYLOAD.match(payloads[0]):
        raise ValueError(f"{link!r}: start must be 1-64 characters of A-Z a-z 0-9 _ -")
    return payloads[0]
