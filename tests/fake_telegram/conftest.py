"""The fake Bot API's own tests: one server and one aiogram client per module.

Starting a server per test, and closing an aiogram session (0.25 s each over TLS), would dominate
these tests; each module's ``fake`` fixture takes the shared ``server``, resets it and sets the
options its tests start from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiogram import Bot

from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bots import bot_for


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    async with bot_for(server) as client:
        yield client
