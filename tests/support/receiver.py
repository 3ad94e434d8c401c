"""A real HTTP receiver of our webhooks for tests: it verifies each signature with the Standard
Webhooks reference library and records what arrived; a test sets how it answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The Standard Webhooks specification's own test secret."""


@dataclass
class Arrival:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: str
    verified: bool
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """Answers ``status`` (with ``headers``) to every POST after ``delay`` seconds, or what
    ``answer`` says per request; ``in_flight`` counts the requests it holds."""

    secret: str = SECRET
    status: int = 204
    delay: float = 0.0
    in_flight: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    answer: Callable[[Arrival], web.StreamResponse | None] | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/bookings"

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The events answered with a 2xx, in the order they arrived."""
        return [a.event for a in self.arrivals if 200 <= a.answered < 300]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        arrival = Arrival(headers, body, verified, self.status)
        self.arrivals.append(arrival)
        if self.delay:
            self.in_flight += 1
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
        special = self.answer(arrival) if self.answer is not None else None
        if special is not None:
            arrival.answered = special.status
            return special
        return web.Response(status=self.status, headers=self.headers)

    async def start(self, port: int = 0) -> None:
        """Listen (again, on the same port after ``stop``)."""
        app = web.Application()
        app.router.add_post("/hooks/bookings", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", port or self.port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, within: float = 30.0) -> list[dict[str, Any]]:
        """The delivered events once there are ``count`` of them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.delivered) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.delivered)} of {count} events within {within} s")
            await asyncio.sleep(0.05)
        return self.delivered

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
