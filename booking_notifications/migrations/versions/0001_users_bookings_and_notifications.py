"""users, bookings and notifications

Create Date: 2026-11-28
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None

KINDS = ("reminder", "start", "end", "cancel")
STATUSES = ("PENDING", "PROCESSING", "SENT", "FAILED", "CANCELLED", "SKIPPED")


def _moment(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)
        for name in ("created_at", "updated_at")
    ]


def _choice(
    column: str, constraint: str, values: Sequence[str]
) -> list[sa.Column[str] | sa.CheckConstraint]:
    allowed = ", ".join(f"'{v}'" for v in values)
    return [
        sa.Column(
            column, sa.Enum(*values, name=constraint, native_enum=False, length=16), nullable=False
        ),
        sa.CheckConstraint(
            f"{column} IN ({allowed})", name=op.f(f"ck_bn_notifications_{constraint}")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "bn_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("language", sa.String(length=16), server_default="en", nullable=False),
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("reachable", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bn_users")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_bn_users_chat_id")),
    )
    op.create_table(
        "bn_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=True),
        _moment("starts_at"),
        _moment("ends_at"),
        sa.Column("reminders", sa.String(length=256), server_default="", nullable=False),
        sa.Column("start_notice", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("end_notice", sa.Boolean(), server_default=sa.true(), nullable=False),
        _moment("scheduled_at", nullable=True),
        _moment("cancelled_at", nullable=True),
        sa.Column("cancel_reason", sa.String(length=512), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["bn_users.id"],
            name=op.f("fk_bn_bookings_user_id_bn_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bn_bookings")),
        sa.UniqueConstraint("ref", name=op.f("uq_bn_bookings_ref")),
    )
    op.create_index(op.f("ix_bn_bookings_user_id"), "bn_bookings", ["user_id"])
    op.create_table(
        "bn_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        *_choice("kind", "notice_kind", KINDS),
        sa.Column("offset_seconds", sa.Integer(), nullable=True),
        _moment("due_at"),
        _moment("latest_at"),
        *_choice("status", "notice_status", STATUSES),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        _moment("sent_at", nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bn_bookings.id"],
            name=op.f("fk_bn_notifications_booking_id_bn_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bn_notifications")),
        sa.UniqueConstraint("booking_id", "key", name=op.f("uq_bn_notifications_booking_id_key")),
    )
    op.create_index(
        op.f("ix_bn_notifications_status_due_at"), "bn_notifications", ["status", "due_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bn_notifications_status_due_at"), table_name="bn_notifications")
    op.drop_table("bn_notifications")
    op.drop_index(op.f("ix_bn_bookings_user_id"), table_name="bn_bookings")
    op.drop_table("bn_bookings")
    op.drop_table("bn_users")
