"""What tests look for in a message the fake Bot API holds."""

from __future__ import annotations

from booking_notifications.testing.fake_chats import StoredMessage


def struck(message: StoredMessage) -> bool:
    """The whole text before the last line is one strikethrough entity."""
    before = message.text.rsplit("\n", 1)[0]
    return any(
        e["type"] == "strikethrough" and e["offset"] == 0 and e["length"] >= len(before) - 2
        for e in message.current.entities
    )
