"""quiet hours: a user's local window in which reminders are held back

Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.add_column("bn_users", sa.Column("quiet_hours", sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bn_users") as batch:
        batch.drop_column("quiet_hours")
