"""Where notices go (Telegram through aiogram, the console); imports nothing else of ours.

A channel sends one text to one chat and sorts its failures; an ``Editor`` also changes what it
sent (a booking cancelled, moved or over since), with the same failures.

The failures a delivery must tell apart, and what the delivery activity does with each::

    DeliveryError
    ├── RateLimited(retry_after)  retry after exactly retry_after seconds (Telegram 429)
    ├── Unreachable(reason)       final: FAILED, no retry (blocked by the user, chat not found)
    ├── Rejected(reason)          final: FAILED, no retry (the message itself was refused)
    ├── Unavailable(reason)       transient: retried with backoff (5xx, an answer that is not
    │   │                         the Bot API's)
    │   └── NoAnswer(reason)      no answer at all (network error, timeout): the same, told
    │                             apart for the metrics
    ├── Misconfigured(reason)     the bot cannot work as configured (token refused or malformed,
    │                             wrong Bot API URL): an operator must act; notices are kept and
    │                             retried rarely until then, and the channel raises an alarm
    └── Migrated(chat_id)         the group became a supergroup: send again to ``chat_id``

Every exception that leaves a channel is one of these, and its message is one line with no URL,
no response body and no token: messages end up in logs, rows and Temporal histories. A channel
raises them outside any ``except`` block, so nothing foreign is chained to them either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from yarl import URL

MAX_RETRY_AFTER = 86_400.0
"""A day: a longer (or nonsensical) flood-control wait is read as this."""


@dataclass(frozen=True)
class BotIdentity:
    """Who a channel sends as, as its service tells it (Telegram's getMe)."""

    id: int
    username: str | None
    name: str

    def __str__(self) -> str:
        return f"@{self.username} (id {self.id})" if self.username else self.name


Button = tuple[str, str]
"""A button under a message: its label, and the data its tap sends back to the bot (or, as a
``UrlButton``, the page it opens)."""


class UrlButton(NamedTuple):
    """A button that opens a web page instead of sending data back to the bot."""

    label: str
    url: str


Keyboard = Sequence[Sequence[Button]]
"""Rows of buttons."""


class Channel(Protocol):
    """Sends a rendered HTML message to a chat; returns the message id the channel gave it."""

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int: ...

    async def check(self) -> BotIdentity:
        """Whether the channel can send at all, asked once at start; ``DeliveryError`` if not."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Editor(Protocol):
    """A channel that can change a message it sent (Telegram can; a console cannot take back
    what it printed, but says what it would change)."""

    async def edit(
        self, chat_id: int, message_id: int, text: str | None, keyboard: Keyboard = ()
    ) -> None:
        """Show ``text`` (None: keep the text) and ``keyboard`` instead; an edit that changes
        nothing is done. ``DeliveryError`` as for a send (``Rejected``: too old, deleted)."""
        ...


class DeliveryError(Exception):
    """A send that did not go through."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        retry_after = min(max(retry_after, 1.0), MAX_RETRY_AFTER)
        super().__init__(f"rate limited: retry after {retry_after:g} s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The chat cannot be reached until its user does something (unblocks the bot)."""


class Rejected(DeliveryError):
    """The message was refused as it is; sending it again would fail again."""


class Unavailable(DeliveryError):
    """The channel did not answer properly; a later attempt may succeed."""


class NoAnswer(Unavailable):
    """The channel's service could not be reached at all (network error, timeout)."""


class Misconfigured(DeliveryError):
    """The channel cannot send anything as configured; no notice will go out until it is fixed."""


class Migrated(DeliveryError):
    """The chat moved to a new id (a group upgraded to a supergroup); the message was not sent."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(f"the group became supergroup {chat_id}")
        self.chat_id = chat_id


def token_secret(token: str) -> str:
    """The secret part of a bot token (after the colon): what no message or log may show."""
    return token.partition(":")[2]


def api_url_problem(api_url: str, name: str = "TELEGRAM_API_URL") -> str | None:
    """Why ``api_url`` (the setting ``name``) cannot be an HTTP base URL, without repeating it
    (it may hold a password); None when it can."""
    problem = f"{name} is not an http:// or https:// URL with a host"
    try:
        url = URL(api_url)
        _ = url.port  # parsed lazily: a bad port raises here
    except ValueError:
        return problem
    if url.scheme not in ("http", "https") or not url.host or any(c.isspace() for c in api_url):
        return problem
    return None
