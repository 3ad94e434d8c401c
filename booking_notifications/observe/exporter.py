"""What a process with ``METRICS_ADDRESS`` sets up: the exporting runtime, then the endpoints.

``install_exporter`` runs first, before any Temporal client exists: it makes the process's
Temporal runtime (``temporal.runtime``, which every client connects on) one that also exports
metrics, and returns the ``Exporter`` the worker and the bot record through and serve from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from temporalio.common import MetricMeter

from booking_notifications.api.temporal import runtime
from booking_notifications.observe.runtime import loopback_port, sdk_prometheus
from booking_notifications.observe.server import Check, serving
from booking_notifications.settings import Settings, split_host_port


@dataclass(frozen=True)
class Exporter:
    """The runtime's meter, where its exporter listens, and where operators scrape."""

    address: tuple[str, int]
    """METRICS_ADDRESS."""
    exporter_url: str
    """The SDK exporter's /metrics, on a loopback port."""
    meter: MetricMeter


def install_exporter(settings: Settings) -> Exporter | None:
    """With METRICS_ADDRESS set, an exporting default runtime and its ``Exporter``; else None.

    Raises:
        RuntimeError: the process's Temporal runtime exists already (a client was made first).
    """
    if settings.metrics_address is None:
        return None
    address = split_host_port(settings.metrics_address)
    assert address is not None  # the setting is validated
    internal = f"127.0.0.1:{loopback_port()}"
    meter = runtime(metrics=sdk_prometheus(internal)).metric_meter
    return Exporter(address, f"http://{internal}/metrics", meter)


def meter_of(exporter: Exporter | None) -> MetricMeter:
    """The meter to record through: the exporter's, or one that records nothing."""
    return MetricMeter.noop if exporter is None else exporter.meter


@asynccontextmanager
async def endpoints(exporter: Exporter | None, checks: Mapping[str, Check]) -> AsyncIterator[None]:
    """/metrics, /healthz and /readyz (with ``checks``) for the block; nothing without METRICS_ADDRESS."""
    if exporter is None:
        yield
        return
    async with serving(exporter.address, exporter.exporter_url, checks):
        yield
