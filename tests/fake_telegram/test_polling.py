"""Long polling against the fake: getUpdates as Telegram answers it, and a real aiogram Dispatcher.

The Dispatcher test is the bot's whole round trip: a user opens a deep link, the bot answers
/start with buttons; the user taps one, the bot edits the message and answers the tap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramConflictError
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.utils.deep_linking import create_start_link

from booking_notifications.testing.fake_chats import TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.testing.fake_updates import (
    BY_SET_WEBHOOK,
    OTHER_GET_UPDATES,
    WEBHOOK_ACTIVE,
)
from tests.support.bots import bot_for

ANN = TelegramUser(42, "Ann")
BOB = TelegramUser(43, "Bob")


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    server.reset()
    server.per_chat_rate = None
    server.blocked.clear()
    server.updates.conflict_repeat_delay = 3.0
    return server


def kind(update: dict[str, object]) -> str:
    return next(key for key in update if key != "update_id")


async def polling(fake: FakeTelegram, call: Awaitable[list[Update]]) -> asyncio.Task[list[Update]]:
    """Start a long poll and return once the fake holds it."""
    task = asyncio.ensure_future(call)
    await fake.wait_until(lambda: fake.updates.polling or task.done())
    return task


async def test_updates_stay_until_an_offset_confirms_them(fake: FakeTelegram, bot: Bot) -> None:
    said = [await fake.user_says(ANN.id, f"message {n}") for n in range(3)]
    ids = [u["update_id"] for u in said]

    first_two = await bot.get_updates(limit=2)
    again = await bot.get_updates()
    rest = await bot.get_updates(offset=ids[1] + 1)

    assert ids == list(range(ids[0], ids[0] + 3))
    assert [u.update_id for u in first_two] == ids[:2]
    assert [u.update_id for u in again] == ids  # nothing confirmed yet
    assert [u.update_id for u in rest] == ids[2:]
    # an offset more than 10 past the last update is "in the future": Telegram confirms nothing
    assert [u["update_id"] for u in fake.pending_updates] == ids[2:]
    assert [u.update_id for u in await bot.get_updates(offset=ids[2] + 12)] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1) == [] and fake.pending_updates == []


async def test_a_negative_offset_keeps_only_the_last_updates(fake: FakeTelegram, bot: Bot) -> None:
    ids = [(await fake.user_says(ANN.id, f"message {n}"))["update_id"] for n in range(4)]

    last = await bot.get_updates(offset=-1)

    assert [u.update_id for u in last] == ids[-1:]
    assert [u.update_id for u in await bot.get_updates()] == ids[-1:]  # the rest is forgotten


async def test_a_long_poll_returns_as_soon_as_an_update_is_queued(
    fake: FakeTelegram, bot: Bot
) -> None:
    poll = await polling(fake, bot.get_updates(timeout=30))

    said = await fake.user_says(ANN.id, "hello")

    updates = await poll
    assert [u.update_id for u in updates] == [said["update_id"]]
    assert updates[0].message is not None and updates[0].message.text == "hello"


async def test_a_long_poll_with_nothing_to_return_answers_empty_after_its_timeout(
    fake: FakeTelegram, bot: Bot
) -> None:
    assert await bot.get_updates(timeout=1) == []
    assert fake.requests[-1].status == 200


async def test_allowed_updates_decides_what_is_queued_and_sticks(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await bot.send_message(
        ANN.id,
        "Coming?",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="yes")]]
        ),
    )
    await bot.get_updates(allowed_updates=["callback_query"])

    said = await fake.user_says(ANN.id, "ignored")
    await fake.user_taps(ANN.id, sent.message_id, "Yes")
    await bot.get_updates()  # no allowed_updates: the last setting stays
    blocked = await fake.user_blocks_bot(BOB)
    await bot.get_updates(allowed_updates=[])  # empty: Telegram's default again
    member = await fake.user_unblocks_bot(BOB)

    assert "update_id" not in said and "update_id" not in blocked
    assert [kind(u) for u in fake.pending_updates] == ["callback_query", "my_chat_member"]
    assert fake.pending_updates[-1] == member
    assert [kind(u) for u in fake.updates.skipped] == ["message", "my_chat_member"]


async def test_a_second_long_poll_ends_the_first_with_409(fake: FakeTelegram, bot: Bot) -> None:
    first = await polling(fake, bot.get_updates(timeout=30))
    async with bot_for(fake) as other_instance:
        second = await polling(fake, other_instance.get_updates(timeout=30))

        with pytest.raises(TelegramConflictError) as caught:
            await first
        said = await fake.user_says(ANN.id, "for the survivor")

        assert [u.update_id for u in await second] == [said["update_id"]]
    assert caught.value.message == OTHER_GET_UPDATES


async def test_get_updates_while_a_webhook_is_set_is_409(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")

    with pytest.raises(TelegramConflictError) as caught:
        await bot.get_updates()

    assert (
        caught.value.message
        == WEBHOOK_ACTIVE
        == (
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
    )


async def test_setting_a_webhook_ends_a_waiting_long_poll_with_409(
    fake: FakeTelegram, bot: Bot
) -> None:
    poll = await polling(fake, bot.get_updates(timeout=30))
    async with bot_for(fake) as deployer:
        await deployer.set_webhook("http://127.0.0.1:9/hook")

    with pytest.raises(TelegramConflictError) as caught:
        await poll
    assert caught.value.message == BY_SET_WEBHOOK


async def test_a_second_conflict_within_the_delay_is_answered_late(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    fake.updates.conflict_repeat_delay = 60.0
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()

    late = asyncio.ensure_future(bot.get_updates())
    with pytest.raises(TimeoutError):
        await fake.wait_until(lambda: fake.count(409) == 2, seconds=0.5)

    fake.reset()  # ends the wait, as the server would after the delay
    with pytest.raises(TelegramConflictError):
        await late


def conversation(done: asyncio.Event) -> Router:
    """What a two-way bot does: /start with a token answers with buttons; a tap edits and answers."""
    router = Router()

    @router.message(CommandStart(deep_link=True))
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(
            f"Connected with {command.args}. Remind you?",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text="✅ I'll be there", callback_data="b:7:ok")]
                ]
            ),
        )

    @router.callback_query(F.data == "b:7:ok")
    async def confirm(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("✅ See you there")
        await query.answer("Confirmed")
        done.set()

    return router


async def test_a_dispatcher_polls_answers_start_and_handles_a_tap(
    fake: FakeTelegram, bot: Bot
) -> None:
    done = asyncio.Event()
    dispatcher = Dispatcher()
    dispatcher.include_router(conversation(done))
    polling_task = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=30, handle_signals=False, close_bot_session=False
        )
    )
    try:
        await fake.user_follows_link(await create_start_link(bot, "tok123"), ANN)
        await fake.wait_until(lambda: fake.messages_to(ANN.id))
        [welcome] = fake.messages_to(ANN.id)
        query_id = await fake.user_taps(ANN.id, welcome.message_id, "✅ I'll be there")
        await asyncio.wait_for(done.wait(), 5)
        await fake.wait_until(lambda: fake.callback_query(query_id).answered)
    finally:
        await dispatcher.stop_polling()
        await polling_task

    assert [v.text for v in welcome.versions] == [
        "Connected with tok123. Remind you?",
        "✅ See you there",
    ]
    assert welcome.buttons() == [] and fake.unanswered_callbacks() == []
    assert [len(q.answers) for q in fake.callback_queries] == [1]  # answered exactly once
    assert [a.text for a in fake.callback_answers] == ["Confirmed"]
    assert fake.updates.allowed == {"message", "callback_query"}  # what the handlers use
