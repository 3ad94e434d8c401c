"""Telegram's paid broadcasts, switched on by a setting: every notice asks for them, the send
rate follows (1,000 a second instead of 30 unless DELIVERY_RATE_PER_SECOND is set), and the fake
Bot API lets paid messages past the free limit as Telegram does."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from booking_notifications.channels import Channel, RateLimited
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.settings import Settings
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import make_channel

BURST = 60
"""Messages to as many chats at once: twice Telegram's free 30 a second."""


def test_the_send_rate_follows_paid_broadcasts_unless_it_is_set() -> None:
    rates = [
        Settings.model_validate(values).delivery_rate
        for values in (
            {},
            {"TELEGRAM_PAID_BROADCAST": "true"},
            {"TELEGRAM_PAID_BROADCAST": "true", "DELIVERY_RATE_PER_SECOND": "200"},
            {"TELEGRAM_PAID_BROADCAST": "false"},
        )
    ]
    assert rates == [30.0, 1000.0, 200.0, 30.0]


async def _burst(channel: Channel) -> list[int | str]:
    async def one(chat_id: int) -> int | str:
        try:
            return await channel.send(chat_id, "⏰ Court 3 starts in 1 hour")
        except RateLimited:
            return "429"

    return list(await asyncio.gather(*(one(7_100_000 + n) for n in range(BURST))))


async def test_a_worker_with_paid_broadcasts_asks_for_them_and_gets_past_30_a_second() -> None:
    async with FakeTelegram(per_chat_rate=None) as fake:
        settings = Settings.model_validate(
            {"TELEGRAM_PAID_BROADCAST": "true", "TELEGRAM_API_URL": fake.url}
        ).model_copy(update={"telegram_bot_token": SecretStr(fake.token)})
        paid = make_channel(settings)
        free = TelegramChannel(fake.token, fake.url)
        try:
            paid_results = await _burst(paid)
            await asyncio.sleep(1.1)  # the free window starts empty
            free_results = await _burst(free)
        finally:
            await paid.close()
            await free.close()
        sends = [r for r in fake.requests if r.method == "sendMessage"]

    assert "429" not in paid_results
    assert free_results.count("429") >= BURST - 30  # the free limit holds for the others
    flags = [r.params.get("allow_paid_broadcast") for r in sends]
    assert flags[:BURST] == ["true"] * BURST  # as aiogram sends a form field
    assert set(flags[BURST:]) == {None}
