"""planned_at: the moment the API planned a booking's notices and wrote their rows

Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.add_column("bn_bookings", sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bn_bookings") as batch:
        batch.drop_column("planned_at")
