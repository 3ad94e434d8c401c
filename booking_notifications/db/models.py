"""SQLAlchemy models: users, bookings and the notification rows that mirror each workflow.

Every table name starts with ``bn_`` (booking notifications): booking services often share one
database with us and have ``users`` and ``bookings`` tables of their own. The naming convention is
fixed before the first migration so that constraint names are the same on SQLite and PostgreSQL
and later migrations can refer to them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from booking_notifications.core.domain import NoticeKind, NoticeStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TITLE_MAX = 256
CANCEL_REASON_MAX = 512
URL_MAX = 2048
"""The longest booking page URL (``BookingRequest.url``) kept."""
CANCELLED_BY_MAX = 16


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no offset, so we store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _choice(values: type[StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR with a named CHECK constraint, stored by value."""
    return Enum(
        values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy's own hook


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class User(Timestamps, Base):
    """Someone who gets notices: a Telegram chat with a language and a time zone.

    Booking code knows a user by their chat id, or by its own key (``ref``) once the person has
    connected their Telegram with a link; until then ``chat_id`` is empty and their notices wait.
    """

    __tablename__ = "bn_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(128), unique=True)
    """Booking code's own key for the user (``user_ref``)."""
    chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    """The Telegram chat notices go to; empty until a user known by ``ref`` connects."""
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    """Who opened the connect link: only they may act on a reminder in a group chat."""
    muted: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    """The names of the topics the user muted (``core.topics.Topic``)."""
    name: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    reachable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False once Telegram refused the chat (blocked, not found): later notices skip."""
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    """Local ``HH:MM-HH:MM`` in which reminders are held back, e.g. ``22:00-08:00``."""

    bookings: Mapped[list[Booking]] = relationship(back_populates="user")


class Booking(Timestamps, Base):
    """A booking as the notices know it; ``ref`` is the booking service's own key, if it gave one."""

    __tablename__ = "bn_bookings"
    __table_args__ = (
        Index(
            "ix_bn_bookings_unscheduled",
            "planned_at",
            postgresql_where=text("scheduled_at IS NULL"),
            sqlite_where=text("scheduled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    """A random name of this booking, kept in its workflow's memo: when a workflow id is already
    taken (another database on the same namespace reused the id), it tells whose run that is."""
    ref: Mapped[str | None] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("bn_users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    url: Mapped[str | None] = mapped_column(String(URL_MAX))
    """The booking's page in the booking service, for the reminders' "Open booking" button."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reminders: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    """Reminder offsets in seconds, as scheduled (kept to rebuild the workflow)."""
    start_notice: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    end_notice: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    planned_at: Mapped[datetime | None]
    """The moment its notice rows were planned and written with it; the workflow plans from the
    same moment, so its plan equals the rows. NULL for bookings from before 0004: their workflow
    writes the rows itself."""
    scheduled_at: Mapped[datetime | None]
    """When its workflow was started; NULL after a crash between the commit and the start."""
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(CANCEL_REASON_MAX))
    cancelled_by: Mapped[str | None] = mapped_column(String(CANCELLED_BY_MAX))
    """``user`` when its owner cancelled it in Telegram; empty when booking code did."""
    confirmed_at: Mapped[datetime | None]
    """When its owner tapped "I'll be there"."""

    user: Mapped[User] = relationship(back_populates="bookings")
    notifications: Mapped[list[Notification]] = relationship(
        back_populates="booking", cascade="all, delete-orphan", passive_deletes=True
    )


class Notification(Timestamps, Base):
    """One notice of one booking: written with the booking as planned, then kept by the
    workflow's activities in line with its plan."""

    __tablename__ = "bn_notifications"
    __table_args__ = (
        UniqueConstraint("booking_id", "key", name="uq_bn_notifications_booking_id_key"),
        Index("ix_bn_notifications_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bn_bookings.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    kind: Mapped[NoticeKind] = mapped_column(_choice(NoticeKind, "notice_kind"))
    offset_seconds: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime]
    latest_at: Mapped[datetime]
    status: Mapped[NoticeStatus] = mapped_column(_choice(NoticeStatus, "notice_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]
    """When its message was edited for what became of the booking (or the edit was refused)."""
    edit_error: Mapped[str | None] = mapped_column(Text)
    """Why Telegram refused that edit (too old, deleted by the user); None when it was made."""

    booking: Mapped[Booking] = relationship(back_populates="notifications")


class LinkToken(Timestamps, Base):
    """A connect link handed to booking code: single use, expiring, kept only as a hash."""

    __tablename__ = "bn_link_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("bn_users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token, hex: the token itself is never stored."""
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


PENDING = "delivered_at IS NULL AND failed_at IS NULL"
"""An event the webhook relay has yet to deliver: the few it looks at twice a second, kept in
partial indexes of their own while the delivered ones pile up for the retention's 30 days."""
PENDING_INDEXES = {
    "ix_bn_events_pending": ("seq",),
    "ix_bn_events_pending_stream": ("stream", "seq"),
}
"""The relay's look: the oldest pending events, and whether one is behind another in its stream."""


class Event(Base):
    """Something that happened, written in the transaction of the change it reports (an outbox).

    ``seq`` is the commit order (``db.events`` takes a lock around the insert on PostgreSQL), so
    a reader paging with ``seq > cursor`` never misses a row that commits late. Rows carry ids,
    kinds and times, never a chat id, a name or a title. The delivery columns belong to the
    webhook relay: pending while neither ``delivered_at`` nor ``failed_at`` is set.
    """

    __tablename__ = "bn_events"
    __table_args__ = (
        *(
            Index(name, *columns, postgresql_where=text(PENDING), sqlite_where=text(PENDING))
            for name, columns in PENDING_INDEXES.items()
        ),
        Index("ix_bn_events_occurred_at", "occurred_at"),
        {"sqlite_autoincrement": True},  # a seq is never reused, even after pruning
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    """The public id (``evt_<uid>``, the webhook's ``webhook-id``): unique across databases."""
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    stream: Mapped[str] = mapped_column(String(48))
    """What this event is ordered with: ``booking:<id>``, or ``user:<id>`` for a user's own."""
    booking_id: Mapped[int | None] = mapped_column(Integer)
    """No foreign key: an event outlives nothing it reports, and a deleted booking keeps its past."""
    booking_ref: Mapped[str | None] = mapped_column(String(128))
    user_ref: Mapped[str | None] = mapped_column(String(128))
    notice_key: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict, server_default="{}")
    """What the type adds (``by`` and ``reason`` of a cancel, the new times of a move, ...)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    retry_until: Mapped[datetime | None]
    """Set by ``--redeliver``: the retry window starts again then instead of at the event."""
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Pacer(Base):
    """A send rate shared by every worker process: the moment the next send may start.

    One row per task queue (one bot): ``db.pacer`` moves ``next_at`` on by one interval per
    send, so the workers of a deployment take turns at one clock (the database's) instead of
    each spending the rate on its own.
    """

    __tablename__ = "bn_pacers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[float] = mapped_column(Double)
    """Seconds since the epoch on the database's clock (PostgreSQL's ``now()``)."""
