"""pacers: one send rate shared by every worker process of a deployment

``bn_pacers`` holds, per task queue, the moment its next send may start (``db.pacer``). Rows
are made on first use; dropping the table loses nothing but the current pace.

Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "bn_pacers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("next_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bn_pacers")),
    )


def downgrade() -> None:
    op.drop_table("bn_pacers")
