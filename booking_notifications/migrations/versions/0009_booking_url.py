"""booking url: the booking's page in the booking service, for the reminders' "Open booking"

A nullable column: rows made before it have no page, and their reminders no such button.
Numbered 0009 after 0008 (events), chained to 0007 until the two are merged.

Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.add_column("bn_bookings", sa.Column("url", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bn_bookings") as batch:
        batch.drop_column("url")
