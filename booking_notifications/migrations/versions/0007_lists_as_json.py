"""reminders and muted topics as JSON lists, not comma-separated strings

Every row keeps its values, up and down: ``"86400,3600"`` becomes ``[86400, 3600]`` and
``"day_reminders,end"`` becomes ``["day_reminders", "end"]``; down, the lists are joined again.

Create Date: 2026-12-02
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"

LISTS = (("bn_bookings", "reminders", 256, int), ("bn_users", "muted", 64, str))
"""Each list column: its table, its name, the length of its old text, and the type of an item."""


def upgrade() -> None:
    for table, column, _, item in LISTS:
        _replace(
            table,
            column,
            sa.Column(f"{column}_new", sa.JSON(), server_default="[]", nullable=False),
            lambda text, item=item: [item(part) for part in (text or "").split(",") if part],
        )


def downgrade() -> None:
    for table, column, length, _ in LISTS:
        _replace(
            table,
            column,
            sa.Column(f"{column}_new", sa.String(length=length), server_default="", nullable=False),
            lambda values: ",".join(str(value) for value in values or []),
        )


def _replace(
    table: str, column: str, new: sa.Column[object], convert: Callable[..., object]
) -> None:
    """Add ``new``, fill it from ``column`` row by row, drop ``column`` and give ``new`` its name."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(new)
    old_type = sa.String() if isinstance(new.type, sa.JSON) else sa.JSON()
    rows = sa.table(
        table,
        sa.column("id", sa.Integer()),
        sa.column(column, old_type),
        sa.column(new.name, new.type),
    )
    bind = op.get_bind()
    found = bind.execute(sa.select(rows.c.id, rows.c[column])).all()
    if found:
        bind.execute(
            rows.update()
            .where(rows.c.id == sa.bindparam("row_id"))
            .values({new.name: sa.bindparam("value", type_=new.type)}),
            [{"row_id": row_id, "value": convert(value)} for row_id, value in found],
        )
    with op.batch_alter_table(table) as batch:
        batch.drop_column(column)
        batch.alter_column(new.name, new_column_name=column)
