"""Where notices go. A channel sends one text to one chat and sorts its failures.

The failures a delivery must tell apart, and what the delivery activity does with each::

    DeliveryError
    ├── RateLimited(retry_after)  retry after exactly retry_after seconds (Telegram 429)
    ├── Unreachable(reason)       final: FAILED, no retry (blocked by the user, chat not found)
    ├── Rejected(reason)          final: FAILED, no retry (the message itself was refused)
    └── Unavailable(reason)       transient: retried with backoff (network, 5xx, bad gateway)
"""

from __future__ import annotations

from typing import Protocol


class Channel(Protocol):
    """Sends a rendered HTML message to a chat; returns the message id the channel gave it."""

    async def send(self, chat_id: int, text: str) -> int: ...

    async def close(self) -> None: ...


class DeliveryError(Exception):
    """A send that did not go through."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited: retry after {retry_after:g} s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The chat cannot be reached until its user does something (unblocks the bot)."""


class Rejected(DeliveryError):
    """The message was refused as it is; sending it again would fail again."""


class Unavailable(DeliveryError):
    """The channel did not answer properly; a later attempt may succeed."""
