"""Alembic environment: runs on the connection handed in by ``db.migrate`` (sync or async).

Our revisions are recorded in ``bn_alembic_version``, never in a host application's own
``alembic_version``.
"""

from __future__ import annotations

from alembic import context

from booking_notifications.db.migrate import VERSION_TABLE
from booking_notifications.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `booking-notify migrate` (db.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
