"""aiogram clients of a fake Bot API server, for tests that play the bot side themselves."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from booking_notifications.testing.fake_telegram import FakeTelegram


def bot_for(fake: FakeTelegram, token: str | None = None) -> Bot:
    """A bot talking to ``fake`` with its token (or ``token``, to be refused)."""
    return Bot(
        token or fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    )
