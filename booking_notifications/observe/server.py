"""``METRICS_ADDRESS``: /metrics, /healthz and /readyz on one port.

- /metrics is the runtime exporter's text (the SDK's metrics and ours), fetched from its loopback
  port at each scrape, so both come from one place and one scrape;
- /healthz answers 200 whenever the process runs its event loop: a supervisor restarts a process
  that stops answering;
- /readyz answers 200 when every readiness check passes, else 503 with one line per failing check:
  a process that runs but cannot work (Temporal or the database down, workers not polling) is
  taken out of rotation and shown, not restarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from booking_notifications.settings import SettingsError

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[str | None]]
"""A readiness check: None when ready, else why not (one line, no secret)."""
CHECK_TIMEOUT = 3.0
"""Seconds a readiness check may take; a hung one counts as failed (a health probe must answer)."""
EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


class ListenFailed(SettingsError):
    """METRICS_ADDRESS cannot be listened on (taken, or not an address of this host): a setting
    to change, one line at start like any other."""


async def run_checks(checks: Mapping[str, Check]) -> list[str]:
    """The failing checks, as ``name: why``, all run at once, each within ``CHECK_TIMEOUT``."""

    async def one(name: str, check: Check) -> str | None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                problem = await check()
        except TimeoutError:
            problem = f"no answer within {CHECK_TIMEOUT:g} s"
        return None if problem is None else f"{name}: {problem}"

    found = await asyncio.gather(*(one(name, check) for name, check in checks.items()))
    return [problem for problem in found if problem is not None]


def make_app(
    exporter_url: str, checks: Mapping[str, Check], http: ClientSession
) -> web.Application:
    """The three endpoints, reading the exporter at ``exporter_url`` through ``http``."""

    async def metrics(_: web.Request) -> web.Response:
        try:
            async with http.get(exporter_url) as answer:
                body = await answer.read()
        except (ClientError, TimeoutError) as err:
            log.warning("the metrics exporter does not answer: %s", type(err).__name__)
            return web.Response(status=503, text="metrics exporter not answering\n")
        return web.Response(body=body, headers={"Content-Type": EXPOSITION})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        problems = await run_checks(checks)
        if problems:
            return web.Response(status=503, text="".join(p + "\n" for p in problems))
        return web.Response(text="ready\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serving(
    address: tuple[str, int], exporter_url: str, checks: Mapping[str, Check]
) -> AsyncIterator[None]:
    """Serve the endpoints on ``address`` for the duration of the block.

    Raises:
        ListenFailed: the address cannot be listened on.
    """
    host, port = address
    async with ClientSession(timeout=ClientTimeout(total=CHECK_TIMEOUT)) as http:
        runner = web.AppRunner(make_app(exporter_url, checks, http), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as err:
            await runner.cleanup()
            why = os.strerror(err.errno) if err.errno else str(err)
            raise ListenFailed(f"cannot listen on METRICS_ADDRESS {host}:{port}: {why}") from None
        log.info("metrics and health on http://%s:%s (/metrics, /healthz, /readyz)", host, port)
        try:
            yield
        finally:
            await runner.cleanup()
