"""The outbox: events queued on a session and written just before it commits, in commit order.

``emit`` only notes the event on the session; a ``before_commit`` hook writes what was noted,
so an event exists exactly when the change it reports committed (a rollback drops it with the
change), and in booking code's own transaction when it passes one. On PostgreSQL the hook takes
a transaction-level advisory lock right before its insert: two transactions cannot interleave
between drawing a ``seq`` and committing, so ``seq`` order is commit order and a reader paging
with ``seq > cursor`` never skips a row that committed late. The lock is held from the insert to
the commit only (milliseconds), even when booking code's transaction ran for longer. SQLite
serialises writers anyway.

Events carry ids, kinds and times: a booking's and a user's ``ref`` are looked up here, a chat
id, a name or a title never travels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from booking_notifications.db.models import Booking, Event, User

QUEUED = "bn_events"
"""The key of ``Session.info`` under which a transaction's events wait for its commit."""
ORDER_LOCK = 0x626E5F65
"""The advisory lock (PostgreSQL) that keeps ``seq`` in commit order: "bn_e" in ASCII."""
VERSION = 1
"""The payload's version, ``"v"``: a change that breaks a receiver makes a new one."""


class EventType(StrEnum):
    """What an event reports."""

    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_MOVED = "booking.moved"
    NOTICE_SENT = "notice.sent"
    NOTICE_FAILED = "notice.failed"
    NOTICE_SKIPPED = "notice.skipped"
    USER_CONNECTED = "user.connected"
    USER_UNREACHABLE = "user.unreachable"


@dataclass(frozen=True)
class Queued:
    """An event noted on a session, written at its commit."""

    type: EventType
    at: datetime
    booking_id: int | None
    user_id: int | None
    notice_key: str | None
    data: dict[str, Any] = field(default_factory=dict)


def emit(
    session: AsyncSession,
    type: EventType,
    *,
    at: datetime,
    booking_id: int | None = None,
    user_id: int | None = None,
    notice_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Note an event on ``session``: it is written when the session commits, dropped on rollback.

    A booking's event names ``booking_id`` (its user's ref is looked up too); a user's own names
    ``user_id``. ``data`` is what the type adds: JSON values, never personal data.
    """
    if booking_id is None and user_id is None:
        raise ValueError("an event belongs to a booking or to a user")
    queued = Queued(type, at, booking_id, user_id, notice_key, data or {})
    session.sync_session.info.setdefault(QUEUED, []).append(queued)


def notice_event(
    session: AsyncSession,
    type: EventType,
    *,
    at: datetime,
    booking_id: int,
    key: str,
    kind: str,
    reason: str | None = None,
) -> None:
    """Note a notice's event: its kind, and why when it was not sent."""
    data = {"kind": str(kind)} | ({} if reason is None else {"reason": reason})
    emit(session, type, at=at, booking_id=booking_id, notice_key=key, data=data)


def iso(moment: datetime) -> str:
    """A UTC moment as the payloads write it: ``2026-12-02T10:00:00Z``."""
    return moment.isoformat().replace("+00:00", "Z")


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    """Write the transaction's events last, under the order lock (runs inside the commit)."""
    queued: list[Queued] = session.info.pop(QUEUED, [])
    if not queued:
        return
    session.flush()  # the change first: the refs below may be rows of this very transaction
    refs = _refs(session, queued)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ORDER_LOCK})
    session.execute(insert(Event), [_row(q, refs) for q in queued])


@event.listens_for(Session, "after_transaction_end")
def _forget_queued(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back transaction's events go with it (a committed one's were popped)."""
    if transaction.parent is None:
        session.info.pop(QUEUED, None)


def _refs(session: Session, queued: list[Queued]) -> dict[str, dict[int, tuple[str | None, ...]]]:
    """Booking code's keys for the bookings (booking ref, user ref) and users named."""
    booking_ids = {q.booking_id for q in queued if q.booking_id is not None}
    user_ids = {q.user_id for q in queued if q.user_id is not None and q.booking_id is None}
    bookings = session.execute(
        select(Booking.id, Booking.ref, User.ref).join(User).where(Booking.id.in_(booking_ids))
    )
    users = session.execute(select(User.id, User.ref).where(User.id.in_(user_ids)))
    return {
        "booking": {row[0]: (row[1], row[2]) for row in bookings} if booking_ids else {},
        "user": {row[0]: (row[1],) for row in users} if user_ids else {},
    }


def _row(queued: Queued, refs: dict[str, dict[int, tuple[str | None, ...]]]) -> dict[str, Any]:
    if queued.booking_id is not None:
        booking_ref, user_ref = refs["booking"].get(queued.booking_id, (None, None))
        stream = f"booking:{queued.booking_id}"
    else:
        assert queued.user_id is not None
        booking_ref, (user_ref,) = None, refs["user"].get(queued.user_id, (None,))
        stream = f"user:{queued.user_id}"
    return {
        "type": str(queued.type),
        "occurred_at": queued.at,
        "stream": stream,
        "booking_id": queued.booking_id,
        "booking_ref": booking_ref,
        "user_ref": user_ref,
        "notice_key": queued.notice_key,
        "data": queued.data,
    }


def public_id(row: Event) -> str:
    """The event's id as receivers see it (and the webhook's ``webhook-id``)."""
    return f"evt_{row.uid}"


async def after(
    session: AsyncSession, cursor: int, limit: int, *, failed: bool = False
) -> list[Event]:
    """Up to ``limit`` events with ``seq > cursor``, in commit order; only finally failed ones
    with ``failed``."""
    query = select(Event).where(Event.seq > cursor).order_by(Event.seq).limit(limit)
    if failed:
        query = query.where(Event.failed_at.is_not(None))
    return list(await session.scalars(query))
