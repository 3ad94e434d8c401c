"""A TCP gate in front of a server: open, it forwards every byte both ways; shut, it drops every
connection and refuses new ones on the same port, as a server that went away does.

A client connected through the gate sees a real outage (connection refused, then a reconnect
when the gate opens again) while the workers keep their own direct connection: the API's
answers during a Temporal outage can then be checked on the time-skipping server, in
milliseconds of test time, without killing the server the workers need.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.service import RetryConfig

from booking_notifications.temporal import runtime
from tests.support.processes import free_port

QUICK_RETRIES = RetryConfig(
    initial_interval_millis=50, max_interval_millis=200, max_elapsed_time_millis=600, max_retries=3
)
"""The SDK retries a failing call for ~9 s by default; a test waits out well under a second."""


class Gate:
    """Forwards ``127.0.0.1:<port>`` to ``target`` (``host:port``) while open."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def shut(self) -> None:
        """Stop listening and cut every connection: new ones are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        task: asyncio.Task[None] = asyncio.ensure_future(_both(reader, writer, *upstream))
        self._pipes.add(task)
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            self._pipes.discard(task)
            for w in (writer, upstream[1]):
                w.close()


async def _both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        writer.write_eof()


@asynccontextmanager
async def gated_client(target: Client) -> AsyncIterator[tuple[Gate, Client]]:
    """A gate in front of ``target``'s server, open, and a client of the same namespace through
    it that gives up on a failing call quickly."""
    gate = Gate(target.service_client.config.target_host)
    await gate.open()
    try:
        client = await Client.connect(
            gate.address,
            namespace=target.namespace,
            runtime=runtime(),
            retry_config=QUICK_RETRIES,
        )
        yield gate, client
    finally:
        await gate.shut()
