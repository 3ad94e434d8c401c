"""Playing the users: the updates Telegram sends a bot when people write to it or tap buttons.

The shapes are Telegram's: a command in a text carries a ``bot_command`` entity (offsets in UTF-16
code units), a deep link ``https://t.me/<bot>?start=<payload>`` arrives as the text
``/start <payload>``, a tap is a ``callback_query`` holding the message as it is at that moment,
and blocking the bot is a ``my_chat_member`` update. Mistakes in a test (a button the message
does not have, a link to another bot) raise at once instead of producing an update Telegram
could never send. ``PlayingUsers`` puts these controls on ``FakeTelegram``.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Hashable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from booking_notifications.testing.fake_chats import (
    Button,
    CallbackQuery,
    Chats,
    MessageVersion,
    StoredMessage,
    TelegramUser,
    chat_instance,
)
from booking_notifications.testing.fake_html import utf16_length
from booking_notifications.testing.fake_updates import Updates

COMMAND = re.compile(
    r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32}(?![\w/<>])|(?![\w/<>@]))"
)
"""A bot command as Telegram marks it (TDLib's match_bot_commands): ``/name`` or ``/name@bot``,
not inside a word or a path; ``/name@`` with a bad bot name is no command at all."""
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


def _now() -> int:
    return int(time.time())


def _queue_of(update: dict[str, Any]) -> Hashable:
    """Which webhook queue an update waits in: its chat's, or for a tap its user's."""
    message = update.get("message") or update.get("my_chat_member") or {}
    if "chat" in message:
        return ("chat", message["chat"].get("id"))
    sender = (update.get("callback_query") or {}).get("from") or {}
    return ("user", sender["id"]) if "id" in sender else object()


class PlayingUsers:
    """The fake's controls for a test to act as Telegram's users (mixed into ``FakeTelegram``)."""

    chats: Chats
    updates: Updates
    blocked: set[int]
    bot_user: dict[str, Any]

    def _notify(self) -> None:
        raise NotImplementedError

    def _sender(self) -> dict[str, Any]:
        raise NotImplementedError

    def _person(self, chat_id: int, user: TelegramUser | None) -> TelegramUser:
        """Who acts in a chat: ``user``, else the private chat's owner; remembered by id."""
        if user is None:
            if chat_id < 0:
                raise ValueError(f"chat {chat_id} is a group: say which user acts in it")
            return self.chats.user(chat_id)
        return self.chats.register(user)

    async def user_says(
        self, chat_id: int, text: str, user: TelegramUser | None = None
    ) -> dict[str, Any]:
        """A user writes ``text`` (``/start abc`` is a command); returns the ``message`` update."""
        person = self._person(chat_id, user)
        if chat_id >= 0 and person.id != chat_id:
            raise ValueError(f"only user {chat_id} writes in private chat {chat_id}")
        if chat_id in self.blocked:
            raise ValueError(f"user {chat_id} blocked the bot; user_unblocks_bot() first")
        version = MessageVersion(text, command_entities(text), None, text, None, time.time())
        return self.queue_update(message_update(self.chats.add(chat_id, person.to_json(), version)))

    async def user_follows_link(self, link: str, user: TelegramUser) -> dict[str, Any]:
        """A user opens ``https://t.me/<bot>?start=<payload>``: the bot gets ``/start <payload>``."""
        payload = start_payload(link, str(self.bot_user["username"]))
        return await self.user_says(user.id, f"/start {payload}", user)

    async def user_taps(
        self, chat_id: int, message_id: int, button: str, user: TelegramUser | None = None
    ) -> str:
        """A user taps a callback button (label or callback data); returns the query's id.

        ``user`` may be anyone (a stranger's tap on someone else's reminder, say); a button the
        message does not show now is an error in the test.
        """
        message = self.chats.find(chat_id, message_id)
        data = find_button(message, button).callback_data
        query = self.chats.tapped(self._person(chat_id, user), message, data, time.monotonic())
        self.queue_update(callback_update(query, message))
        return query.id

    async def user_blocks_bot(self, user: TelegramUser) -> dict[str, Any]:
        """A user blocks the bot: sends to them are 403 from now; a ``my_chat_member`` update."""
        self.blocked.add(self._person(user.id, user).id)
        return self.queue_update(member_update(user, self._sender(), "member", "kicked", _now()))

    async def user_unblocks_bot(self, user: TelegramUser) -> dict[str, Any]:
        """A user unblocks (restarts) the bot: a ``my_chat_member`` update back to member."""
        self.blocked.discard(self._person(user.id, user).id)
        return self.queue_update(member_update(user, self._sender(), "kicked", "member", _now()))

    def user_deletes(self, chat_id: int, message_id: int) -> None:
        """A user deletes a message in their chat: the bot's edits of it are "not found" now
        (Telegram tells a bot nothing of it)."""
        self.chats.find(chat_id, message_id)  # a test deleting what is not there is wrong
        del self.chats.messages[chat_id, message_id]

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any update as given, numbered anew: e.g. a tap whose data a test forged.

        Returns it with its ``update_id``, or without one if ``allowed_updates`` leaves its type
        out (Telegram then never queues it). A ``callback_query`` in it can be answered.
        """
        update = copy.deepcopy(update)
        if isinstance(update.get("callback_query"), dict):
            self.chats.adopt(update["callback_query"], time.monotonic())
        queued = self.updates.push(update, _queue_of(update))
        self._notify()
        return update if queued is None else queued
