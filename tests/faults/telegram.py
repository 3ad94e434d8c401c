"""The fake Bot API a network away: Telegram is a round trip from the worker, not a function call.

``accept_delay`` is how long a request travels (and waits) before Telegram accepts the message;
``answer_delay`` is how long the answer takes to come back. The fake records a message when it
accepts it, so ``answer_delay`` is time in which Telegram has the message and the worker does
not know it yet: the window in which a crash duplicates a notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Self

from aiohttp import web

from booking_notifications.testing.fake_telegram import FakeTelegram

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SlowTelegram(FakeTelegram):
    """``FakeTelegram`` with request and answer latency, counting the requests in flight."""

    def __init__(
        self, *, accept_delay: float = 0.0, answer_delay: float = 0.0, **options: Any
    ) -> None:
        super().__init__(**options)
        self.accept_delay = accept_delay
        self.answer_delay = answer_delay
        self.in_flight = 0
        self.app.middlewares.append(self._latency)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    @web.middleware
    async def _latency(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.in_flight += 1
        try:
            await asyncio.sleep(self.accept_delay)
            response = await handler(request)
            await asyncio.sleep(self.answer_delay)
            return response
        finally:
            self.in_flight -= 1
