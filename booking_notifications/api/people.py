"""The people a booking notifies, as booking code and the bot see them: connect links, their
choices (what they mute), and what they do from a reminder (confirm).

``BookingNotifier.people``: built by the notifier with its sessions, runs and clock, so the same
object, opened once, serves booking code and the bot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from booking_notifications.api import users, views
from booking_notifications.api.links import deep_link
from booking_notifications.api.requests import InvalidBooking, check_chat_id, check_user_ref
from booking_notifications.api.runs import BookingRuns, OnRunsAndRows
from booking_notifications.api.starts import Starts
from booking_notifications.api.users import Connected
from booking_notifications.api.views import BookingCard, BookingNotFound, ChatUser, get_booking
from booking_notifications.core.clock import Clock
from booking_notifications.core.topics import Topic, parse_topics
from booking_notifications.db.bookings import find_user
from booking_notifications.db.events import EventType, emit
from booking_notifications.db.models import User
from booking_notifications.db.session import Sessions
from booking_notifications.errors import in_our_words, is_transient
from booking_notifications.settings import Settings, SettingsError
from booking_notifications.workflows.booking import BookingWorkflow


class ConfirmResult(StrEnum):
    """What "I'll be there" did."""

    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    CANCELLED = "cancelled"
    OVER = "over"


BotUsername = str | Callable[[], Awaitable[str]]
PEOPLE_METHODS = frozenset(
    {"link", "connect", "confirm", "muted", "set_muted", "booking_card", "chat_user"}
)
"""What ``BookingNotifier`` had of these before they were ``notifier.people``'s."""
LINK_VALID_FOR = timedelta(hours=24)
LINK_VALID_FOR_MAX = timedelta(days=30)


def bot_username_of(settings: Settings) -> BotUsername | None:
    """How the API learns the bot's username for links: Telegram's getMe, when there is a bot."""
    token = settings.telegram_bot_token
    if token is None:
        return None

    async def ask() -> str:
        # aiogram takes seconds to import: only a process that makes links pays for it.
        from booking_notifications.channels.telegram import TelegramChannel

        channel = TelegramChannel(token.get_secret_value(), settings.telegram_api_url)
        try:
            identity = await channel.check()
        finally:
            await channel.close()
        if not identity.username:
            raise SettingsError("Telegram says the bot has no username: links cannot name it")
        return identity.username

    return ask


@in_our_words
class People(OnRunsAndRows):
    """Connect links, mutes and confirmations: ``notifier.people``.

    Like every call of the API, its calls raise ``Unavailable`` rather than the SDK's or the
    driver's errors when a dependency is down."""

    def __init__(
        self,
        sessions: Sessions,
        runs: BookingRuns,
        starts: Starts,
        clock: Clock,
        bot_username: BotUsername | None,
    ) -> None:
        """``bot_username`` (a name, or a coroutine function that asks Telegram) names the bot
        in connect links; ``starts`` follows up what waits for Temporal."""
        self._sessions = sessions
        self._runs = runs
        self._starts = starts
        self._clock = clock
        self.bot_username = bot_username

    async def link(self, user_ref: str, *, valid_for: timedelta = LINK_VALID_FOR) -> str:
        """A link that connects a user known by booking code's key to whoever opens it.

        Bookings scheduled for ``user_ref`` meanwhile keep their notices waiting, and those still
        due go out as soon as the person connects.

        Args:
            user_ref: booking code's own key for the user.
            valid_for: how long the link works, from 1 minute to 30 days; it works once.

        Returns:
            ``https://t.me/<bot>?start=<token>``.

        Raises:
            InvalidBooking: ``user_ref`` or ``valid_for`` is out of bounds.
            SettingsError: there is no bot to name (``TELEGRAM_BOT_TOKEN``).
        """
        check_user_ref(user_ref)
        if not timedelta(minutes=1) <= valid_for <= LINK_VALID_FOR_MAX:
            raise InvalidBooking(f"valid_for {valid_for} must be from 1 minute to 30 days")
        username = await self._username()
        async with self._sessions() as session:
            token = await users.new_link(session, user_ref, self._clock(), valid_for)
            await session.commit()
        return deep_link(username, token)

    async def connect(self, token: str, *, chat_id: int, telegram_user_id: int) -> Connected:
        """Bind the user of a connect link to the chat it was opened in (the bot calls this on
        ``/start <token>``); notices that waited for the user are released at once.

        Args:
            token: the link's ``start`` parameter.
            chat_id: the chat the link was opened in.
            telegram_user_id: who opened it: only they may act on a reminder in a group chat.

        Returns:
            Who was connected, and the bookings whose workflows were told.

        Raises:
            LinkRefused: the token is unknown, used or expired (``reason`` says which).
        """
        async with self._sessions() as session:
            connected = await users.connect(
                session,
                token,
                chat_id=chat_id,
                telegram_user_id=telegram_user_id,
                now=self._clock(),
            )
            await session.commit()
        left = await self._wake(connected.booking_ids)
        if left:  # Temporal is unreachable: the notices are released once it answers
            self._starts.follow(self._wake, left)
        return connected

    async def confirm(self, booking_id: int) -> ConfirmResult:
        """Record that the owner will be there ("I'll be there" in Telegram).

        Args:
            booking_id: the booking's id.

        Returns:
            CONFIRMED, or why nothing changed: ALREADY_CONFIRMED, CANCELLED or OVER.

        Raises:
            BookingNotFound: there is no such booking.
        """
        async with self._sessions() as session:
            booking = await get_booking(session, booking_id)
            if booking.cancelled_at is not None:
                return ConfirmResult.CANCELLED
            if booking.ends_at <= self._clock():
                return ConfirmResult.OVER
            if booking.confirmed_at is not None:
                return ConfirmResult.ALREADY_CONFIRMED
            booking.confirmed_at = self._clock()
            emit(
                session, EventType.BOOKING_CONFIRMED, at=booking.confirmed_at, booking_id=booking.id
            )
            await session.commit()
        return ConfirmResult.CONFIRMED

    async def muted(
        self, *, user_ref: str | None = None, chat_id: int | None = None
    ) -> frozenset[Topic]:
        """What the user has muted (by booking code, /settings or /stop).

        Args:
            user_ref: booking code's key for the user, or
            chat_id: their chat (exactly one of the two).

        Returns:
            The muted topics.

        Raises:
            InvalidBooking: neither or both are given.
            BookingNotFound: there is no such user.
        """
        async with self._sessions() as session:
            return parse_topics((await self._user(session, user_ref, chat_id)).muted)

    async def set_muted(
        self, topics: Iterable[Topic], *, user_ref: str | None = None, chat_id: int | None = None
    ) -> frozenset[Topic]:
        """Set what the user does not want to receive; cancellations and moves always go out.

        Args:
            topics: every topic to mute (the others are received).
            user_ref: booking code's key for the user, or
            chat_id: their chat (exactly one of the two).

        Returns:
            The topics now muted.

        Raises:
            InvalidBooking: neither or both are given.
            BookingNotFound: there is no such user.
        """
        async with self._sessions() as session:
            chosen = users.set_muted(await self._user(session, user_ref, chat_id), topics)
            await session.commit()
        return chosen

    async def booking_card(self, booking_id: int) -> BookingCard | None:
        """What a tap on one of the booking's buttons needs to know (the bot's read)."""
        return await views.booking_card(self._sessions, booking_id)

    async def chat_user(self, chat_id: int) -> ChatUser | None:
        """The user a Telegram chat belongs to; None when no one connected it."""
        return await views.chat_user(self._sessions, chat_id)

    async def upcoming(self, chat_id: int) -> list[BookingCard]:
        """The chat's user's bookings not cancelled nor over, soonest first (``/bookings``):
        at most ``users.UPCOMING_SHOWN`` + 1, so that the bot can say there are more."""
        async with self._sessions() as session:
            ids = await users.upcoming_bookings(session, chat_id, self._clock())
        cards = [await views.booking_card(self._sessions, booking_id) for booking_id in ids]
        return [card for card in cards if card is not None]  # None: deleted since

    async def _user(self, session: AsyncSession, user_ref: str | None, chat_id: int | None) -> User:
        if (user_ref is None) == (chat_id is None):
            raise InvalidBooking("name the user by user_ref or by chat_id, one of the two")
        user = await find_user(
            session,
            chat_id=None if chat_id is None else check_chat_id(chat_id),
            user_ref=None if user_ref is None else check_user_ref(user_ref),
        )
        if user is None:
            raise BookingNotFound(f"no user {user_ref or chat_id}")
        return user

    async def _wake(self, booking_ids: Sequence[int]) -> list[int]:
        """Tell these bookings' workflows that their user connected; the ids Temporal could not
        be reached for."""
        for number, booking_id in enumerate(booking_ids):
            try:
                await self._runs.handle(booking_id).signal(BookingWorkflow.user_connected)
            except RPCError as err:
                if is_transient(err):
                    return list(booking_ids[number:])
                # NOT_FOUND: over, or never started (it starts knowing the user): nothing waits
        return []

    async def _username(self) -> str:
        """The bot's username, asked of Telegram once."""
        name = self.bot_username
        if name is None:
            raise SettingsError("a connect link names the bot: set TELEGRAM_BOT_TOKEN")
        if not isinstance(name, str):
            name = self.bot_username = await name()
        return name
