"""Row helpers shared by the API and the activities: the user booking code names, and notice
rows kept in line with the workflow's notices.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking_notifications.db.models import Notification, User
from booking_notifications.workflows.types import Notice


async def find_user(
    session: AsyncSession, *, chat_id: int | None = None, user_ref: str | None = None
) -> User | None:
    """The user booking code names by chat id or by its own key (exactly one given)."""
    where = User.chat_id == chat_id if chat_id is not None else User.ref == user_ref
    return await session.scalar(select(User).where(where))


def notice_row(booking_id: int, notice: Notice) -> Notification:
    """A new row for a planned notice."""
    row = Notification(booking_id=booking_id, key=notice.key, attempts=0)
    copy_notice(notice, row)
    return row


def copy_notice(notice: Notice, row: Notification) -> None:
    """Bring a row in line with the workflow's view of its notice."""
    row.kind = notice.kind
    row.offset_seconds = notice.offset_seconds
    row.due_at = notice.due_at
    row.latest_at = notice.latest_at
    row.status = notice.status
    row.last_error = notice.reason
