"""booking uid: a random name per booking, kept in its workflow's memo to tell runs apart; and an
index for the bookings whose workflow has not started yet (what reconcile looks for)

Create Date: 2026-12-01
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    with op.batch_alter_table("bn_bookings") as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
    bookings = sa.table("bn_bookings", sa.column("id", sa.Integer), sa.column("uid", sa.String))
    connection = op.get_bind()
    for (booking_id,) in connection.execute(sa.select(bookings.c.id)).all():
        connection.execute(
            bookings.update().where(bookings.c.id == booking_id).values(uid=uuid.uuid4().hex)
        )
    with op.batch_alter_table("bn_bookings") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint(op.f("uq_bn_bookings_uid"), ["uid"])
    op.create_index(
        op.f("ix_bn_bookings_unscheduled"),
        "bn_bookings",
        ["planned_at"],
        postgresql_where=sa.text("scheduled_at IS NULL"),
        sqlite_where=sa.text("scheduled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bn_bookings_unscheduled"), table_name="bn_bookings")
    with op.batch_alter_table("bn_bookings") as batch:
        batch.drop_constraint(op.f("uq_bn_bookings_uid"), type_="unique")
        batch.drop_column("uid")
