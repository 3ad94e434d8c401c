"""The due-but-not-sent count: which rows it counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking_notifications.core.domain import WAITING_FOR_USER, NoticeKind, NoticeStatus
from booking_notifications.db.models import Booking, Notification, User
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.observe.due import count_due_not_sent, due_not_sent

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
P, R, S, F = (
    NoticeStatus.PENDING,
    NoticeStatus.PROCESSING,
    NoticeStatus.SENT,
    NoticeStatus.FAILED,
)
ROWS = [
    # (status, due this long before NOW, last_error, counted)
    (P, timedelta(minutes=5), None, True),
    (P, timedelta(hours=3), None, True),
    (R, timedelta(minutes=2), "rate limited: retry after 3 s", True),
    (P, timedelta(seconds=30), None, False),  # within the minute of grace: in flight
    (P, -timedelta(hours=1), None, False),  # not due yet
    (P, timedelta(minutes=5), WAITING_FOR_USER, False),  # held on purpose for a connect
    (S, timedelta(hours=1), None, False),
    (F, timedelta(hours=1), "Telegram 403: blocked", False),
]


async def test_it_counts_unsent_notices_a_minute_past_due_and_not_held_ones(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessions(engine)
    try:
        async with sessions() as session:
            booking = Booking(
                user=User(chat_id=4242), starts_at=NOW, ends_at=NOW + timedelta(hours=1)
            )
            for i, (status, before, error, _) in enumerate(ROWS):
                due = NOW - before
                booking.notifications.append(
                    Notification(
                        key=f"n{i}",
                        kind=NoticeKind.REMINDER,
                        due_at=due,
                        latest_at=due + timedelta(hours=1),
                        status=status,
                        last_error=error,
                    )
                )
            session.add(booking)
            await session.commit()

        counted = await count_due_not_sent(sessions, NOW)
        async with sessions() as session:
            capped = await session.scalar(due_not_sent(NOW, cap=1))
    finally:
        await engine.dispose()

    assert counted == sum(1 for *_, counts in ROWS if counts) == 3
    assert capped == 2  # one a status at most
