"""The bot's handlers, on an aiogram ``Router`` a host's own ``Dispatcher`` can include.

- ``/start <token>`` connects the chat to the user of a connect link; ``/start`` alone explains
  how to connect, or offers to resume paused notices;
- ``/bookings`` lists the person's upcoming bookings with the same buttons (``listing``);
- ``/settings`` shows a toggle per topic a user may mute; ``/stop`` mutes them all (cancellations
  and moves still come);
- a tap on a notice's buttons: "I'll be there" records it, "Cancel booking" asks, "Yes, cancel"
  cancels through booking code's own path (the workflow's signal), "Keep it" restores.

Every callback query is answered, refusals too. A tap is refused, changing nothing, when its data
is not ours or was altered, was signed for another chat, comes from someone who is not the
booking's owner, or names a booking that is over, cancelled or moved since the message was sent.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from booking_notifications.api import BookingNotifier, CancelResult, ConfirmResult, LinkRefused
from booking_notifications.api.users import LinkProblem
from booking_notifications.api.views import BookingCard, ChatUser
from booking_notifications.bot.edits import edit, kept_rows
from booking_notifications.bot.listing import bookings_list
from booking_notifications.channels.telegram import inline_keyboard
from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.core.topics import ALL_TOPICS, Topic
from booking_notifications.observe.metrics import BotMetrics
from booking_notifications.texts import bot as texts
from booking_notifications.texts.actions import (
    BookingAction,
    BookingTap,
    SettingsAction,
    SettingsTap,
    Signer,
    stamp_of,
)
from booking_notifications.texts.keyboards import (
    TOPIC_LABELS,
    booking_keyboard,
    cancel_question_keyboard,
    resume_keyboard,
    settings_keyboard,
    translator,
)
from booking_notifications.texts.messages import (
    CANCELLED_IN_TELEGRAM,
    booking_name,
    format_span,
    language_of,
)

log = logging.getLogger(__name__)

CANCEL_REASON = CANCELLED_IN_TELEGRAM
LINK_REFUSALS = {
    LinkProblem.UNKNOWN: texts.LINK_UNKNOWN,
    LinkProblem.USED: texts.LINK_USED,
    LinkProblem.EXPIRED: texts.LINK_EXPIRED,
}


def booking_router(
    notifier: BookingNotifier,
    signer: Signer,
    clock: Clock = utcnow,
    metrics: BotMetrics | None = None,
) -> Router:
    """The bot's handlers, bound to the notifier they act through and the key that signs buttons.

    Args:
        notifier: the open notifier the handlers act through: ``notifier.people`` connects
            chats, records confirmations and mutes; ``notifier.cancel`` cancels (``by="user"``).
        signer: the key of the buttons' signatures, ``signer_for(settings)``; the worker that
            delivers the notices must sign with the same one.
        clock: what "now" is when a tap is judged (a booking that is over refuses it).
        metrics: counts the taps refused (without it, nothing is recorded).

    Returns:
        An aiogram ``Router`` named ``booking_notifications`` for a ``Dispatcher`` to include:
        ``/start`` (with or without a token), ``/bookings``, ``/settings``, ``/stop`` and the
        buttons' taps.
    """
    router = Router(name="booking_notifications")
    counted = metrics or BotMetrics()
    taps = _Taps(notifier, signer, clock)

    @router.message(CommandStart(deep_link=True))
    async def start_with_token(message: Message, command: CommandObject) -> None:
        assert message.from_user is not None
        t = translator(message.from_user.language_code)
        try:
            await notifier.people.connect(
                command.args or "",
                chat_id=message.chat.id,
                telegram_user_id=message.from_user.id,
            )
        except LinkRefused as refused:
            await message.answer(t(LINK_REFUSALS[refused.reason]))
            return
        await message.answer(t(texts.CONNECTED))

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        if (user := await connected_user(message)) is None:
            return
        if user.muted:
            keyboard = resume_keyboard(signer, message.chat.id, user.language)
            await message.answer(
                translator(user.language)(texts.PAUSED), reply_markup=inline_keyboard(keyboard)
            )
        else:
            await message.answer(translator(user.language)(texts.ALREADY_CONNECTED))

    async def connected_user(message: Message) -> ChatUser | None:
        """The chat's user; when there is none, the answer says how to connect."""
        user = await notifier.people.chat_user(message.chat.id)
        if user is None:
            await message.answer(translator(_code(message))(texts.HOW_TO_CONNECT))
        return user

    @router.message(Command("settings"))
    async def settings(message: Message) -> None:
        if (user := await connected_user(message)) is None:
            return
        keyboard = settings_keyboard(signer, user.muted, message.chat.id, user.language)
        await message.answer(
            translator(user.language)(texts.SETTINGS), reply_markup=inline_keyboard(keyboard)
        )

    @router.message(Command("bookings"))
    async def bookings(message: Message) -> None:
        if (user := await connected_user(message)) is None:
            return
        sender = message.from_user.id if message.from_user else None
        if user.owner_id is not None and sender != user.owner_id:  # a group: the owner only
            await message.answer(translator(user.language)(texts.BOOKINGS_NOT_YOURS))
            return
        cards = await notifier.people.upcoming(message.chat.id)
        text, keyboard = bookings_list(cards, signer, message.chat.id, user.language, clock())
        await message.answer(text, reply_markup=inline_keyboard(keyboard))

    @router.message(Command("stop"))
    async def stop(message: Message) -> None:
        if (user := await connected_user(message)) is None:
            return
        await notifier.people.set_muted(ALL_TOPICS, chat_id=message.chat.id)
        await message.answer(translator(user.language)(texts.STOPPED))

    @router.callback_query(F.data)
    async def tap(query: CallbackQuery) -> None:
        answer = texts.NOT_VALID
        language: str | None = None
        try:
            answer, language = await taps.handle(query)
            if answer in REFUSED:
                counted.tap_refused(REFUSED[answer])
        finally:  # every callback is answered, also when refused or when handling failed
            await query.answer(translator(language)(answer) if answer else None)

    return router


REFUSED = {
    texts.NOT_VALID: "not_valid",
    texts.GONE: "gone",
    texts.NOT_YOURS: "not_yours",
    texts.MOVED: "moved",
    texts.OVER: "over",
    texts.ALREADY_CANCELLED: "already_cancelled",
}
"""The answers of a tap that changed nothing, and the ``reason`` label each is counted under."""


def _code(message: Message) -> str | None:
    return message.from_user.language_code if message.from_user else None


class _Taps:
    """What a tap does; returns the answer to show (a text to translate) and its language."""

    def __init__(self, notifier: BookingNotifier, signer: Signer, clock: Clock) -> None:
        self._notifier, self._signer, self._clock = notifier, signer, clock

    async def handle(self, query: CallbackQuery) -> tuple[str, str | None]:
        message = query.message
        if not isinstance(message, Message) or query.data is None:
            return texts.NOT_VALID, None
        tapped = self._signer.read(query.data, message.chat.id)
        if isinstance(tapped, BookingTap):
            return await self._booking(query, message, tapped)
        if isinstance(tapped, SettingsTap):
            return await self._settings(query, message, tapped)
        return texts.NOT_VALID, None

    async def _booking(
        self, query: CallbackQuery, message: Message, tap: BookingTap
    ) -> tuple[str, str | None]:
        card = await self._notifier.people.booking_card(tap.booking_id)
        if card is None:
            return texts.GONE, None
        language = card.language
        if card.chat_id != message.chat.id or card.owner_id != query.from_user.id:
            return texts.NOT_YOURS, language
        if tap.stamp != stamp_of(card.starts_at):
            return texts.MOVED, language
        if card.cancelled:
            return texts.ALREADY_CANCELLED, language
        if card.ends_at <= self._clock():
            return texts.OVER, language
        t = translator(language)
        if tap.action is BookingAction.CONFIRM:
            return await self._confirm(message, card), language
        if tap.action is BookingAction.CONFIRM_IN_LIST:
            answer = _confirmed(await self._notifier.people.confirm(card.booking_id))
            cards = await self._notifier.people.upcoming(message.chat.id)
            now = self._clock()
            await edit(message, *bookings_list(cards, self._signer, message.chat.id, language, now))
            return answer, language
        if tap.action is BookingAction.ASK_CANCEL:
            keyboard = cancel_question_keyboard(
                self._signer, card.booking_id, card.starts_at, message.chat.id, language
            )
            await edit(message, t(texts.ASK_CANCEL) % _about(card, self._clock), keyboard)
            return "", language
        if tap.action is BookingAction.CANCEL:
            result = await self._notifier.cancel(card.booking_id, CANCEL_REASON, by="user")
            if result is CancelResult.CANCELLED:
                await edit(message, t(texts.CANCELLED_LINE), ())
                return texts.CANCELLED, language
            return (
                texts.OVER if result is CancelResult.OVER else texts.ALREADY_CANCELLED
            ), language
        keyboard = booking_keyboard(
            self._signer, card.booking_id, card.starts_at, message.chat.id, language
        )
        await edit(message, t(texts.KEPT) % _about(card, self._clock), keyboard)
        return texts.KEPT_ANSWER, language

    async def _confirm(self, message: Message, card: BookingCard) -> str:
        result = await self._notifier.people.confirm(card.booking_id)
        if result is not ConfirmResult.CONFIRMED:
            return _confirmed(result)
        line = translator(card.language)(texts.CONFIRMED_LINE)
        markup = message.reply_markup
        await edit(message, f"{message.html_text}\n\n{line}", kept_rows(markup))
        return _confirmed(result)

    async def _settings(
        self, query: CallbackQuery, message: Message, tap: SettingsTap
    ) -> tuple[str, str | None]:
        user = await self._notifier.people.chat_user(message.chat.id)
        if user is None or user.owner_id != query.from_user.id:
            return texts.NOT_YOURS, user.language if user else None
        t, muted = translator(user.language), set(user.muted)
        if tap.action is SettingsAction.RESUME:
            await self._notifier.people.set_muted((), chat_id=message.chat.id)
            await edit(message, t(texts.RESUMED), ())
            return "", user.language
        if tap.topic not in {topic.value for topic in Topic}:
            return texts.NOT_VALID, user.language
        topic = Topic(tap.topic)
        muted ^= {topic}
        chosen = await self._notifier.people.set_muted(muted, chat_id=message.chat.id)
        keyboard = settings_keyboard(self._signer, chosen, message.chat.id, user.language)
        await edit(message, message.html_text, keyboard)
        state = texts.TOPIC_OFF if topic in chosen else texts.TOPIC_ON
        return t(state) % {"topic": t(TOPIC_LABELS[topic])}, user.language


def _confirmed(result: ConfirmResult) -> str:
    """The answer to a tap on "I'll be there"."""
    if result is ConfirmResult.CONFIRMED:
        return texts.CONFIRMED
    if result is ConfirmResult.ALREADY_CONFIRMED:
        return texts.ALREADY_CONFIRMED
    return texts.OVER if result is ConfirmResult.OVER else texts.ALREADY_CANCELLED


def _about(card: BookingCard, clock: Clock) -> dict[str, str]:
    """The title and the span of a booking, for the texts that name it (HTML-escaped)."""
    span = format_span(
        card.starts_at, card.ends_at, card.time_zone, language_of(card.language), now=clock()
    )
    return {"title": booking_name(card.title, card.booking_id, card.language), "span": span}
