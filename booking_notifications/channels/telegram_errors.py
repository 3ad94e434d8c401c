"""What every failure of aiogram, aiohttp, or whatever answers in Telegram's place, means for us.

aiogram raises three families from a Bot API call, and none of their messages may travel on:

* ``TelegramAPIError`` subclasses for the Bot API's own errors, by HTTP status; the message is
  Telegram's description, which anything standing at the Bot API's URL may fill as it likes;
* ``TelegramNetworkError`` for aiohttp's ``ClientError`` and timeouts; its message can hold the
  request URL, and so the token;
* ``ClientDecodeError`` for a body that is not a Bot API response (a proxy's HTML page, an
  empty or cut body); its message holds the body, which can echo the URL and the token.

A body that is not text in its declared charset escapes aiogram as ``UnicodeDecodeError``.
``CheckedSession`` turns every answer that is not a success into ``FailedAnswer``, which keeps
the HTTP status and drops the body; ``sort`` maps each failure onto the ``DeliveryError`` tree
with a message of our own: a fixed sentence, plus at most Telegram's description, on one line,
cleaned of URLs and anything shaped like a token. Anything else is a surprise: ``sort`` returns
``None`` and the channel logs it (redacted) before raising ``Unavailable``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from pydantic import ValidationError

from booking_notifications.channels import (
    DeliveryError,
    Migrated,
    Misconfigured,
    NoAnswer,
    RateLimited,
    Rejected,
    Unavailable,
    Unreachable,
)

if TYPE_CHECKING:
    from aiogram import Bot

DESCRIPTION_MAX = 200
_UNREACHABLE_HINTS = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked")
_URL = re.compile(r"\S*://\S*|\S*/bot\S*")
_TOKEN_SHAPED = re.compile(r"\d{3,}:[\w-]{10,}")
_ACCESS_DENIED = frozenset({401, 403, 404, 405})
"""Statuses that, from something that is not the Bot API, mean we knock at the wrong door."""

TOKEN_REFUSED = (
    "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): the token is wrong or was revoked"
)
NOT_FOUND = "the Bot API answered 404 Not Found: TELEGRAM_API_URL or TELEGRAM_BOT_TOKEN is wrong"


class FailedAnswer(Exception):
    """An answer that is not a success: its HTTP status, and aiogram's reading of it if any.

    ``problem`` says why the body is not a Bot API answer at all (the body itself is dropped).
    """

    def __init__(
        self, status: int, error: TelegramAPIError | None = None, problem: str | None = None
    ) -> None:
        super().__init__(status)
        self.status, self.error, self.problem = status, error, problem


class CheckedSession(AiohttpSession):
    """aiogram's aiohttp session, raising ``FailedAnswer`` for every answer that is not a success."""

    async def close(self) -> None:
        """aiogram waits 250 ms after closing, for TLS connections to shut down gracefully; a
        plain-HTTP Bot API server (a local one, the fake) has none to wait for."""
        if self.api.base.startswith("https:"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        failed: FailedAnswer | None = None
        try:
            response = super().check_response(bot, method, status_code, content)
        except TelegramAPIError as err:
            failed = FailedAnswer(status_code, err)
        except ClientDecodeError as err:
            shape = isinstance(err.original, ValidationError)
            failed = FailedAnswer(
                status_code, problem="not a Bot API response" if shape else "not JSON"
            )
        else:
            if response.result is not None:
                return response
            failed = FailedAnswer(status_code, problem="ok, but no result")
        raise failed


def sort(err: Exception, secret: str) -> DeliveryError | None:
    """Our error for a failure of a Bot API call; None for one nobody expected."""
    if isinstance(err, FailedAnswer):
        return _sort_answer(err, secret)
    if isinstance(err, TelegramNetworkError):  # aiogram wraps aiohttp's errors and timeouts
        cause = err.__cause__
        if cause is None or isinstance(cause, TimeoutError):
            return NoAnswer("network error: timed out waiting for the Bot API")
        return NoAnswer(f"network error: {type(cause).__name__}")
    if isinstance(err, UnicodeError | LookupError):  # resp.text(), before aiogram sees the body
        return Unavailable("an answer that is not the Bot API's (not text in its charset)")
    return None


def _sort_answer(answer: FailedAnswer, secret: str) -> DeliveryError:
    status, error = answer.status, answer.error
    if isinstance(error, TelegramRetryAfter):
        return RateLimited(error.retry_after)
    if isinstance(error, TelegramMigrateToChat):
        return Migrated(error.migrate_to_chat_id)
    if answer.problem is not None and status in _ACCESS_DENIED:
        return Misconfigured(
            f"TELEGRAM_API_URL answered {status} with a page that is not the Bot API's"
            f" ({answer.problem}): is it the Bot API's URL?"
        )
    if status == 401:
        return Misconfigured(TOKEN_REFUSED)
    if status == 404:
        return Misconfigured(NOT_FOUND)
    if status == 413:
        return Rejected("Telegram 413: the message is too large")
    if answer.problem is not None:
        return Unavailable(
            f"Telegram {status}: an answer that is not the Bot API's ({answer.problem})"
        )
    description = clean(error.message if error else None, secret)
    if status == 403:
        return Unreachable(f"Telegram 403: {description}")
    if status == 400:
        unreachable = any(hint in description.lower() for hint in _UNREACHABLE_HINTS)
        return (Unreachable if unreachable else Rejected)(f"Telegram 400: {description}")
    return Unavailable(f"Telegram {status}: {description}")


def clean(description: Any, secret: str) -> str:
    """Telegram's description, fit for a log line: one line, short, no URL and no token."""
    if not isinstance(description, str) or not description.strip():
        return "no description"
    text = "".join(char if char.isprintable() else " " for char in description)
    if secret:
        text = text.replace(secret, "[token]")
    text = " ".join(text.split())
    text = _TOKEN_SHAPED.sub("[token]", _URL.sub("[url]", text))
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"
