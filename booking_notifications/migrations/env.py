"""Alembic environment: runs on the connection handed in by ``db.migrate`` (sync or async)."""

from __future__ import annotations

from alembic import context

from booking_notifications.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `booking-notify migrate` (db.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
