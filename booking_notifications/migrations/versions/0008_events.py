"""events: what happened, as rows written with the change they report, and their webhook delivery

Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"

PENDING = "delivered_at IS NULL AND failed_at IS NULL"
"""The events the relay has yet to deliver: partial indexes keep its look at them cheap."""
PENDING_INDEXES = {
    "ix_bn_events_pending": ["seq"],
    "ix_bn_events_pending_stream": ["stream", "seq"],
}


def upgrade() -> None:
    op.create_table(
        "bn_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream", sa.String(length=48), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("booking_ref", sa.String(length=128), nullable=True),
        sa.Column("user_ref", sa.String(length=128), nullable=True),
        sa.Column("notice_key", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bn_events")),
        sa.UniqueConstraint("uid", name=op.f("uq_bn_events_uid")),
        sqlite_autoincrement=True,
    )
    for name, columns in PENDING_INDEXES.items():
        op.create_index(
            name,
            "bn_events",
            columns,
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        )
    op.create_index("ix_bn_events_occurred_at", "bn_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_bn_events_occurred_at", table_name="bn_events")
    for name in PENDING_INDEXES:
        op.drop_index(name, table_name="bn_events")
    op.drop_table("bn_events")
