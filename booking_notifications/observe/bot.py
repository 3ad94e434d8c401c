"""The bot's metrics, hooked into aiogram: every update a dispatcher handles, and every webhook
request refused for a wrong secret token. (Refused taps are counted by the router, which knows
why it refused them.) Imported only by the bot, which has aiogram loaded anyway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import TelegramObject
from aiogram.webhook.aiohttp_server import SimpleRequestHandler

from booking_notifications.observe.metrics import BotMetrics

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def count_updates(dispatcher: Dispatcher, metrics: BotMetrics) -> None:
    """Count each update the dispatcher is fed, by polling or by webhook, handled or not."""

    async def counted(handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        metrics.update()
        return await handler(update, data)

    dispatcher.update.outer_middleware(counted)


class CountedRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, counting the requests it refuses (a wrong or no secret token:
    someone other than Telegram knocking, or a secret changed on one side only)."""

    def __init__(self, *args: Any, metrics: BotMetrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._metrics = metrics

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        verified = super().verify_secret(telegram_secret_token, bot)
        if not verified:
            self._metrics.webhook_refused()
        return verified
