"""The Alembic revisions and the SQLAlchemy models describe the same schema, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_notifications.api.bookings import save_booking
from booking_notifications.api.requests import BookingRequest
from booking_notifications.db.migrate import (
    LEGACY_TABLES,
    VERSION_TABLE,
    SchemaMismatch,
    alembic_config,
    check_schema,
    downgrade,
    upgrade,
)
from booking_notifications.db.models import Base
from booking_notifications.db.session import make_engine, make_sessions


def _differences(connection: Connection) -> list[object]:
    """What autogenerate would change to make the database match our models.

    Only our ``bn_`` tables count: a host application's tables beside them are not ours to diff.
    """
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "version_table": VERSION_TABLE,
            "include_name": lambda name, kind, _: kind != "table" or name.startswith("bn_"),
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrations_build_exactly_the_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await downgrade(engine)
        await engine.dispose()


async def test_the_migrations_run_down_to_nothing_and_up_again(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # a second run is a no-op
        await downgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"bn_alembic_version"}
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert {"bn_users", "bn_bookings", "bn_notifications"} <= set(tables)
    finally:
        await downgrade(engine)
        await engine.dispose()


async def test_no_revision_up_or_down_loses_a_row(empty_db_url: str) -> None:
    """SQLite alters a table by copying it; with foreign keys on, dropping the original would
    cascade into every row that refers to it."""
    engine = make_engine(empty_db_url)
    counts = []
    try:
        await upgrade(engine)
        await _book_one(engine)
        for revision in ("0002", "head"):
            await (downgrade if revision != "head" else upgrade)(engine, revision)
            async with engine.connect() as conn:
                counts.append(
                    (await conn.execute(text("SELECT count(*) FROM bn_notifications"))).scalar()
                )
    finally:
        await downgrade(engine)
        await engine.dispose()

    assert counts == [3, 3]


HOST_SCHEMA = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(64) NOT NULL)",
    "CREATE TABLE bookings (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), "
    "room VARCHAR(32))",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "INSERT INTO users (id, email) VALUES (1, 'host@example.org')",
    "INSERT INTO bookings (id, user_id, room) VALUES (7, 1, 'Court 3')",
    "INSERT INTO alembic_version (version_num) VALUES ('0003')",
)
"""A booking service's own schema, as the seed application has it: its users, its bookings and
its Alembic history, at a revision id that is also one of ours."""


async def _host_state(engine: AsyncEngine) -> tuple[object, ...]:
    async with engine.connect() as conn:
        users = (await conn.execute(text("SELECT id, email FROM users"))).all()
        bookings = (await conn.execute(text("SELECT id, user_id, room FROM bookings"))).all()
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        columns = await conn.run_sync(
            lambda c: {
                t: [col["name"] for col in inspect(c).get_columns(t)] for t in ("users", "bookings")
            }
        )
    return users, bookings, version, columns


async def test_our_schema_lives_beside_a_host_schema_with_the_same_table_names(
    empty_db_url: str,
) -> None:
    engine = make_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            for statement in HOST_SCHEMA:
                await conn.execute(text(statement))
        before = await _host_state(engine)

        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            ours = (await conn.execute(text("SELECT version_num FROM bn_alembic_version"))).all()
        after_up = await _host_state(engine)
        await _book_one(engine)
        await downgrade(engine)
        after_down = await _host_state(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        await upgrade(engine)
    finally:
        await downgrade(engine)
        async with engine.begin() as conn:  # the PostgreSQL database is shared by the session
            for table in ("bookings", "users", "alembic_version"):
                await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()

    assert ours and ours[0][0] != "0003"
    assert before == after_up == after_down
    assert tables == {"users", "bookings", "alembic_version", "bn_alembic_version"}


async def test_a_database_of_version_0_1_is_adopted_with_its_rows_and_ids(
    empty_db_url: str,
) -> None:
    """0.1 kept unprefixed tables and our revision in the default alembic_version."""
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as conn:
            await conn.run_sync(_as_version_0_1)
            booking_id = await conn.run_sync(_book_as_version_0_1)

        await upgrade(engine)
        next_id = await _book_one(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert await conn.run_sync(_differences) == []
            keys = (
                (
                    await conn.execute(
                        text("SELECT key FROM bn_notifications WHERE booking_id = :b ORDER BY key"),
                        {"b": booking_id},
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await downgrade(engine)
        await engine.dispose()

    assert tables == {
        "bn_users",
        "bn_bookings",
        "bn_notifications",
        "bn_link_tokens",
        "bn_events",
        "bn_pacers",
        "bn_alembic_version",
    }
    assert list(keys) == ["end", "reminder_1h", "start"]
    assert next_id == booking_id + 1  # the id sequence carried over too


def _as_version_0_1(connection: Connection) -> None:
    """Give a database at 0004 the names 0.1 gave it: tables, indexes, constraints, version."""
    for old, new in LEGACY_TABLES.items():
        connection.execute(text(f"ALTER TABLE {new} RENAME TO {old}"))
        if connection.dialect.name == "postgresql":
            constraints = connection.scalars(
                text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass)"),
                {"t": old},
            ).all()
            for name in constraints:
                old_name = name.replace("bn_", "")
                connection.execute(
                    text(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {old_name}")
                )
        for index in inspect(connection).get_indexes(old):
            if "bn_" not in (index["name"] or ""):
                continue  # a constraint's own index, renamed with it
            columns = ", ".join(str(c) for c in index["column_names"])
            connection.execute(text(f"DROP INDEX {index['name']}"))
            old_name = str(index["name"]).replace("bn_", "")
            connection.execute(text(f"CREATE INDEX {old_name} ON {old} ({columns})"))
    connection.execute(text("ALTER TABLE bn_alembic_version RENAME TO alembic_version"))
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "ALTER TABLE alembic_version "
                "RENAME CONSTRAINT bn_alembic_version_pkc TO alembic_version_pkc"
            )
        )


def _book_as_version_0_1(connection: Connection) -> int:
    """A booking with three notice rows, written as 0.1 wrote them."""
    now = datetime.now(UTC)
    connection.execute(text("INSERT INTO users (id, chat_id) VALUES (1, 42)"))
    connection.execute(
        text(
            "INSERT INTO bookings (id, user_id, starts_at, ends_at, reminders, planned_at) "
            "VALUES (1, 1, :start, :end, '3600', :now)"
        ),
        {"start": now + timedelta(hours=3), "end": now + timedelta(hours=4), "now": now},
    )
    for key, kind in (("reminder_1h", "reminder"), ("start", "start"), ("end", "end")):
        connection.execute(
            text(
                "INSERT INTO notifications (booking_id, key, kind, due_at, latest_at, status) "
                "VALUES (1, :key, :kind, :due, :due, 'PENDING')"
            ),
            {"key": key, "kind": kind, "due": now + timedelta(hours=3)},
        )
    return 1


async def _book_one(engine: AsyncEngine) -> int:
    now = datetime.now(UTC)
    request = BookingRequest(
        chat_id=42,
        starts_at=now + timedelta(hours=3),
        ends_at=now + timedelta(hours=4),
        reminders=[timedelta(hours=1)],
    )
    booking = await save_booking(make_sessions(engine), request, now)
    return booking.id


async def test_the_schema_check_refuses_a_database_behind_and_tolerates_one_ahead(
    empty_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind: our code would fail on missing tables or columns. Ahead: a newer version migrated
    it during a rolling deploy, and our revisions only ever add."""
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine, "0001")
        await downgrade(engine)  # an empty database: no tables, no revision
        with pytest.raises(SchemaMismatch, match="at revision none, this version needs"):
            await check_schema(engine)
        await upgrade(engine, "0005")
        with pytest.raises(SchemaMismatch, match="at revision 0005"):
            await check_schema(engine)
        await upgrade(engine)
        await check_schema(engine)
        async with engine.begin() as conn:
            await conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dcafe'"))
        await check_schema(engine)
    finally:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        async with engine.begin() as conn:  # the PostgreSQL database is shared by the run
            await conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = :h"), {"h": head})
        await downgrade(engine)
        await engine.dispose()

    assert "at revision f00dcafe, newer than this version's" in caplog.text


LISTS_AT_0006 = {1: ("day_reminders,end", "86400,3600"), 2: ("", "")}
"""Per user (and their one booking): the muted topics and the reminders as 0006 stored them."""
LISTS_AT_0007 = {1: (["day_reminders", "end"], [86400, 3600]), 2: ([], [])}


async def _lists(engine: AsyncEngine, kind: type[sa.JSON | sa.String]) -> dict[int, object]:
    users = sa.table("bn_users", sa.column("id", sa.Integer()), sa.column("muted", kind()))
    bookings = sa.table(
        "bn_bookings", sa.column("user_id", sa.Integer()), sa.column("reminders", kind())
    )
    query = sa.select(users.c.id, users.c.muted, bookings.c.reminders).join(
        bookings, bookings.c.user_id == users.c.id
    )
    async with engine.connect() as conn:
        return {id_: (muted, reminders) for id_, muted, reminders in await conn.execute(query)}


async def test_0007_keeps_every_list_as_json_and_back_as_text(empty_db_url: str) -> None:
    """Reminders and muted topics were comma-separated text up to 0006; 0007 makes them JSON
    lists, and its downgrade joins them again, without losing a row or a value."""
    engine = make_engine(empty_db_url)
    now = datetime.now(UTC)
    try:
        await upgrade(engine, "0006")
        async with engine.begin() as conn:
            for user_id, (muted, reminders) in LISTS_AT_0006.items():
                await conn.execute(
                    text("INSERT INTO bn_users (id, chat_id, muted) VALUES (:id, :chat, :muted)"),
                    {"id": user_id, "chat": user_id, "muted": muted},
                )
                await conn.execute(
                    text(
                        "INSERT INTO bn_bookings (uid, user_id, starts_at, ends_at, reminders) "
                        "VALUES (:uid, :id, :at, :at, :reminders)"
                    ),
                    {"uid": f"u{user_id}", "id": user_id, "at": now, "reminders": reminders},
                )
        await upgrade(engine)
        up = await _lists(engine, sa.JSON)
        await downgrade(engine, "0006")
        down = await _lists(engine, sa.String)
    finally:
        await downgrade(engine)
        await engine.dispose()

    assert up == LISTS_AT_0007
    assert down == LISTS_AT_0006
