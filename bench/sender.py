"""The one send every peer shares: aiogram over HTTP to the fake Bot API, 429 as a wait.

Peers get the same client the product uses (aiogram ``Bot`` with a custom API server), so the
only difference between systems is how they decide *when* to send.
"""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

MAX_ATTEMPTS = 20


def make_bot(token: str, api_url: str) -> Bot:
    """A Bot that talks to ``api_url`` instead of api.telegram.org."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=20)
    return Bot(token, session=session)


async def send_waiting(bot: Bot, chat_id: int, text: str) -> int:
    """Send; on 429 wait ``retry_after`` and try again, as a hand-written loop would."""
    for _ in range(MAX_ATTEMPTS):
        try:
            message = await bot.send_message(chat_id=chat_id, text=text)
            return message.message_id
        except TelegramRetryAfter as err:
            await asyncio.sleep(err.retry_after)
    raise RuntimeError(f"chat {chat_id}: still rate limited after {MAX_ATTEMPTS} attempts")
