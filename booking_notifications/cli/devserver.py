"""The embedded stack for ``dev`` and ``server``: the Temporal CLI dev server from its wheel.

It keeps its state in a SQLite file in the data folder (WAL, so it survives a crash and keeps up
with bursts), registers our search attributes, and serves the UI on the gRPC port + 1000.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.temporal import find_binary, runtime
from booking_notifications.settings import Settings
from booking_notifications.workflows.search import ALL as SEARCH_ATTRIBUTES

UI_PORT_OFFSET = 1000


def ui_url(settings: Settings) -> str:
    return f"http://{settings.temporal_host}:{settings.temporal_port + UI_PORT_OFFSET}"


@asynccontextmanager
async def embedded_temporal(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """Start the dev server on TEMPORAL_ADDRESS with a persistent file; stop it on exit."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_free(settings.temporal_host, settings.temporal_port)
    env = await WorkflowEnvironment.start_local(
        namespace=settings.temporal_namespace,
        ip=settings.temporal_host,
        port=settings.temporal_port,
        ui=True,
        ui_port=settings.temporal_port + UI_PORT_OFFSET,
        search_attributes=SEARCH_ATTRIBUTES,
        runtime=runtime(),  # the process's one: core logs forwarded, metrics when asked for
        dev_server_existing_path=str(find_binary("temporal", settings.temporal_cli)),
        dev_server_database_filename=str(settings.data_dir / "temporal.db"),
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--ui-disable-news-fetch",
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


def _ensure_free(host: str, port: int) -> None:
    """Fail clearly when the port is taken: the client would otherwise connect to that other
    server and report success while our own dev server has already exited."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            probe.bind((host, port))
        except OSError:
            raise ConnectionError(
                f"{host}:{port} is already in use (another Temporal server?): "
                "stop it or set TEMPORAL_ADDRESS"
            ) from None
