"""The Temporal runtime that exports metrics: the SDK's own, and ours made through its meter.

The SDK's Prometheus exporter runs an HTTP server of its own that serves only /metrics, so it
listens on a loopback port chosen at start, and ``server`` serves its text on ``METRICS_ADDRESS``
beside the health endpoints: one port for operators, one exposition for Prometheus.

The seam with the rest of the process is ``sdk_prometheus``: the metrics part of the
``TelemetryConfig`` that ``temporal.runtime`` builds (beside the SDK core's log forwarding).
"""

from __future__ import annotations

import socket

from temporalio.runtime import PrometheusConfig

from booking_notifications.observe.metrics import BUCKETS


def loopback_port() -> int:
    """A port nobody listens on at 127.0.0.1, for the SDK's exporter."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sdk_prometheus(bind_address: str) -> PrometheusConfig:
    """The SDK's Prometheus exporter on ``bind_address``, named as Prometheus expects.

    Counters get ``_total``, durations are seconds (the SDK's default is integer milliseconds)
    and say so in their names (``_seconds``), and our lateness histogram gets buckets fit for
    reminders. Our metrics carry no unit: their names already end in theirs (a unit would be
    appended as ``_s``).
    """
    return PrometheusConfig(
        bind_address=bind_address,
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides=BUCKETS,
    )
