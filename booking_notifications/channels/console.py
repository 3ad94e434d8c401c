"""The console channel: prints notices instead of sending them, for ``dev`` without a bot token."""

from __future__ import annotations

import html
import re
import sys
from datetime import UTC, datetime
from itertools import count
from typing import TextIO

from booking_notifications.channels import BotIdentity, Keyboard

_TAG = re.compile(r"<[^>]+>")


class ConsoleChannel:
    """Writes each notice as one plain-text line (tags stripped) with the moment it was sent."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._ids = count(1)

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int:
        message_id = next(self._ids)
        plain = html.unescape(_TAG.sub("", text)).replace("\n", " / ")
        plain += "".join(f" [{label}]" for row in keyboard for label, _ in row)
        stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        stream = self._stream or sys.stdout
        print(
            f"[{stamp} UTC] notice #{message_id} to chat {chat_id}: {plain}",
            file=stream,
            flush=True,
        )
        return message_id

    async def edit(
        self, chat_id: int, message_id: int, text: str | None, keyboard: Keyboard = ()
    ) -> None:
        """Print what the message would now say (a printed line cannot be changed)."""
        shown = "its buttons removed" if text is None else html.unescape(_TAG.sub("", text))
        print(
            f"edit of message {message_id} in chat {chat_id}: {shown.replace(chr(10), ' / ')}",
            file=self._stream or sys.stdout,
            flush=True,
        )

    async def check(self) -> BotIdentity:
        """The console is always there."""
        return BotIdentity(0, None, "the console")

    async def close(self) -> None:
        return None
