"""The Telegram channel: aiogram's Bot over HTTP, with Telegram's errors sorted for retry.

The Bot API base URL can point at a local Bot API server (or the project's fake one). The token
stays inside aiogram: it is never logged or put into an error message here.
"""

from __future__ import annotations

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)

from booking_notifications.channels import RateLimited, Rejected, Unavailable, Unreachable

REQUEST_TIMEOUT = 20
DEFAULT_API_URL = "https://api.telegram.org"
_UNREACHABLE_HINTS = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked")


class TelegramChannel:
    """Sends HTML messages with aiogram; one HTTP session for the life of the worker."""

    def __init__(self, token: str, api_url: str | None = None) -> None:
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(api_url or DEFAULT_API_URL),
            timeout=REQUEST_TIMEOUT,
        )
        self._bot = Bot(
            token,
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )

    async def send(self, chat_id: int, text: str) -> int:
        try:
            message = await self._bot.send_message(chat_id=chat_id, text=text)
        except TelegramRetryAfter as err:
            raise RateLimited(err.retry_after) from None
        except TelegramForbiddenError as err:
            raise Unreachable(f"Telegram 403: {err.message}") from None
        except TelegramBadRequest as err:
            if any(hint in err.message.lower() for hint in _UNREACHABLE_HINTS):
                raise Unreachable(f"Telegram 400: {err.message}") from None
            raise Rejected(f"Telegram 400: {err.message}") from None
        except (TimeoutError, TelegramNetworkError, aiohttp.ClientError) as err:
            raise Unavailable(f"network error: {type(err).__name__}") from None
        except TelegramAPIError as err:
            # 5xx, and also a wrong token (401): retried, so fixing the setting loses nothing.
            raise Unavailable(f"Telegram {type(err).__name__}: {err.message}") from None
        return message.message_id

    async def close(self) -> None:
        await self._bot.session.close()
