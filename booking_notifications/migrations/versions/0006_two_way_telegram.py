"""two-way Telegram: users known by booking code's key until they connect, connect links, muted
topics, confirmations and who cancelled

Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    with op.batch_alter_table("bn_users") as batch:
        batch.add_column(sa.Column("ref", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("muted", sa.String(length=64), server_default="", nullable=False)
        )
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)
        batch.create_unique_constraint(op.f("uq_bn_users_ref"), ["ref"])
    with op.batch_alter_table("bn_bookings") as batch:
        batch.add_column(sa.Column("cancelled_by", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "bn_link_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["bn_users.id"],
            name=op.f("fk_bn_link_tokens_user_id_bn_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bn_link_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_bn_link_tokens_digest")),
    )
    op.create_index(op.f("ix_bn_link_tokens_user_id"), "bn_link_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bn_link_tokens_user_id"), table_name="bn_link_tokens")
    op.drop_table("bn_link_tokens")
    with op.batch_alter_table("bn_bookings") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("cancelled_by")
    # Users who never connected have no chat: they cannot be kept under the old schema.
    op.execute("DELETE FROM bn_users WHERE chat_id IS NULL")
    with op.batch_alter_table("bn_users") as batch:
        batch.drop_constraint(op.f("uq_bn_users_ref"), type_="unique")
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("muted")
        batch.drop_column("telegram_user_id")
        batch.drop_column("ref")
