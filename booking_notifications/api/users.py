"""The people notices go to: connecting their Telegram, and what they mute.

Booking code names a user by chat id or by its own key (``user_ref``); a person names themselves
by opening a connect link in Telegram, which tells us their chat. These are the rules for that
binding, and for the choices a person makes from the bot; the API and the bot call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_notifications.api.links import digest, looks_like_token, new_token
from booking_notifications.core.topics import Topic, topic_names
from booking_notifications.db.bookings import find_user
from booking_notifications.db.events import EventType, emit
from booking_notifications.db.models import Booking, LinkToken, User
from booking_notifications.workflows.plan import CANCEL_TOLERANCE


class LinkRefused(Exception):
    """A /start token that binds nothing; ``reason`` says which kind, for a polite answer."""

    def __init__(self, reason: LinkProblem) -> None:
        super().__init__(reason.value)
        self.reason = reason


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Connected:
    """Who connected, and the bookings whose waiting notices their connection releases."""

    user_ref: str | None
    language: str
    booking_ids: list[int]


async def new_link(
    session: AsyncSession, user_ref: str, now: datetime, valid_for: timedelta
) -> str:
    """A fresh single-use token for ``user_ref`` (created if new); only its digest is stored."""
    user = await find_user(session, user_ref=user_ref)
    if user is None:
        user = User(ref=user_ref)
        session.add(user)
        await session.flush()
    token, token_digest = new_token()
    session.add(LinkToken(user_id=user.id, digest=token_digest, expires_at=now + valid_for))
    return token


async def connect(
    session: AsyncSession, token: str, *, chat_id: int, telegram_user_id: int, now: datetime
) -> Connected:
    """Bind the token's user to ``chat_id``: the token is used up, and the latest link wins.

    A user that booking code already knew by this chat id alone is merged into the token's user
    (its bookings move over; settings it had and the other has not, too). Another user already
    connected to this chat loses it: their notices wait until they connect again.
    """
    if not looks_like_token(token):
        raise LinkRefused(LinkProblem.UNKNOWN)
    link = await session.scalar(
        select(LinkToken)
        .options(selectinload(LinkToken.user))
        .where(LinkToken.digest == digest(token))
        .with_for_update()
    )
    if link is None:
        raise LinkRefused(LinkProblem.UNKNOWN)
    if link.used_at is not None:
        raise LinkRefused(LinkProblem.USED)
    if link.expires_at <= now:
        raise LinkRefused(LinkProblem.EXPIRED)
    link.used_at = now
    user = link.user
    holder = await find_user(session, chat_id=chat_id)
    if holder is not None and holder is not user:
        if holder.ref is None:
            await _merge(session, holder, into=user)
        else:
            holder.chat_id = None
        await session.flush()  # the chat id is free before it is given
    user.chat_id, user.telegram_user_id, user.reachable = chat_id, telegram_user_id, True
    emit(session, EventType.USER_CONNECTED, at=now, user_id=user.id)
    # Cancelled bookings too: their cancellation may be what waits for the user (a cancel is
    # accepted before the end, and its notice is held at most CANCEL_TOLERANCE after that).
    running = await session.scalars(
        select(Booking.id).where(
            Booking.user_id == user.id, Booking.ends_at > now - CANCEL_TOLERANCE
        )
    )
    return Connected(user.ref, user.language, list(running))


UNSET_USER_FIELDS: dict[str, object] = {
    "language": "en",
    "time_zone": "UTC",
    "quiet_hours": None,
    "muted": [],
}
"""A user's settings as a new row has them: a merge keeps the other row's where these remain."""


async def _merge(session: AsyncSession, other: User, *, into: User) -> None:
    """Move ``other`` (known by chat id alone) into ``into``, then remove it."""
    await session.execute(
        update(Booking).where(Booking.user_id == other.id).values(user_id=into.id)
    )
    for field, default in UNSET_USER_FIELDS.items():
        if getattr(into, field) in (None, default):
            setattr(into, field, getattr(other, field))
    await session.delete(other)


def set_muted(user: User, topics: Iterable[Topic]) -> frozenset[Topic]:
    """Store the topics ``user`` mutes (in the caller's session); returns them as stored."""
    chosen = frozenset(Topic(t) for t in topics)
    user.muted = topic_names(chosen)
    return chosen


UPCOMING_SHOWN = 10
"""How many upcoming bookings ``/bookings`` lists: one message, with a row of buttons each."""


async def upcoming_bookings(
    session: AsyncSession, chat_id: int, now: datetime, limit: int = UPCOMING_SHOWN
) -> list[int]:
    """The ids of the chat's user's bookings not cancelled and not over at ``now``, soonest
    first.

    Only the user whose chat this is: another user's bookings never come, whatever the chat.
    ``limit + 1`` at most, so a caller can tell there are more than it shows.
    """
    return list(
        await session.scalars(
            select(Booking.id)
            .join(Booking.user)
            .where(User.chat_id == chat_id)
            .where(Booking.cancelled_at.is_(None), Booking.ends_at > now)
            .order_by(Booking.starts_at, Booking.id)
            .limit(limit + 1)
        )
    )
