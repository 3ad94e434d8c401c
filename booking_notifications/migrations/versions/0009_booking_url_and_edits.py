"""booking url, message edits: the booking's page, and when a sent message was edited

``bn_bookings.url`` is the booking's page in the booking service, for the reminders' "Open
booking" button; ``bn_notifications.edited_at`` / ``edit_error`` record the edit of a sent
message when its booking is cancelled, moved or over (or why Telegram refused it). Nullable
columns: rows made before them have no page and no edit.

Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.add_column("bn_bookings", sa.Column("url", sa.String(length=2048), nullable=True))
    op.add_column(
        "bn_notifications", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("bn_notifications", sa.Column("edit_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bn_notifications") as batch:
        batch.drop_column("edit_error")
        batch.drop_column("edited_at")
    with op.batch_alter_table("bn_bookings") as batch:
        batch.drop_column("url")
