"""Fixtures of the fault tests: the processes they start (always cleaned up) and the report.

Every test here is marked ``faults`` (``pytest -m faults`` runs only them, ``-m "not faults"``
leaves them out) and ``slow``; CI runs them with everything else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import REPORTED
from tests.faults.processes import PostgresCluster, TemporalDevServer
from tests.faults.scene import FaultScene, fault_scene
from tests.support.processes import Children


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault injection on the real stack (kills, outages); slow"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTED:
        terminalreporter.section("fault injection figures")
        for line in REPORTED:
            terminalreporter.write_line(line)


@pytest.fixture
def children(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Children]:
    """The processes this test starts; all of them are killed and reaped at teardown.

    When the test failed, the tails of their logs go to the report.
    """
    started = Children(tmp_path)
    try:
        yield started
    finally:
        failed = getattr(request.node, "_fault_failed", False)
        started.close()
        if failed:
            for child in started:
                print(child.tail(60))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call" and report.failed:
        item._fault_failed = True  # type: ignore[attr-defined]
    return report


@pytest_asyncio.fixture
async def paced_telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API with Telegram's limits: 30 messages/s overall, 1 per second per chat."""
    async with FakeTelegram() as server:
        yield server


SceneOn = Callable[[WorkflowEnvironment, str], AbstractAsyncContextManager[FaultScene]]
"""``fault_scene`` with all but its Temporal and its database given."""


@pytest.fixture
def scene_on(task_queue: str, children: Children, paced_telegram: FakeTelegram) -> SceneOn:
    """The API on a given Temporal and database, sending to ``paced_telegram``."""
    return lambda env, db_url: fault_scene(env, db_url, task_queue, children, paced_telegram.url)


@pytest_asyncio.fixture
async def scene(
    dev_env: WorkflowEnvironment, db_url: str, scene_on: SceneOn
) -> AsyncIterator[FaultScene]:
    """The API on the dev server and the test's database, sending to ``paced_telegram``; its
    workflows are forgotten at teardown."""
    async with scene_on(dev_env, db_url) as s:
        yield s


@pytest_asyncio.fixture
async def own_temporal(children: Children, tmp_path: Path) -> AsyncIterator[TemporalDevServer]:
    """A Temporal dev server of the test's own, keeping its state in a file: the test may kill
    and restart it. Stopped at teardown."""
    server = TemporalDevServer(children, tmp_path / "temporal")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def own_scene(
    own_temporal: TemporalDevServer, db_url: str, scene_on: SceneOn
) -> AsyncIterator[FaultScene]:
    """``scene``, on ``own_temporal`` rather than the shared dev server."""
    async with scene_on(await own_temporal.environment(), db_url) as s:
        yield s


@pytest.fixture
def own_postgres(children: Children) -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the test's own, which the test may crash and start again; skipped
    without the binaries (failed under ``CI=true``), closed at teardown."""
    cluster = PostgresCluster.required(children)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest_asyncio.fixture
async def postgres_scene(
    dev_env: WorkflowEnvironment, own_postgres: PostgresCluster, scene_on: SceneOn
) -> AsyncIterator[FaultScene]:
    """``scene``, its database a migrated one on ``own_postgres``."""
    async with scene_on(dev_env, await own_postgres.migrated("booking_faults")) as s:
        yield s
