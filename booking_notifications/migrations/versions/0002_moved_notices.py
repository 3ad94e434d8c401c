"""moved notices: the kind of the "booking moved" notice sent on a reschedule

Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"

NAME = "ck_bn_notifications_notice_kind"
BEFORE = ("reminder", "start", "end", "cancel")
AFTER = (*BEFORE, "moved")


def _allow(kinds: Sequence[str]) -> None:
    allowed = ", ".join(f"'{k}'" for k in kinds)
    with op.batch_alter_table("bn_notifications") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"kind IN ({allowed})")


def upgrade() -> None:
    _allow(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM bn_notifications WHERE kind = 'moved'")
    _allow(BEFORE)
