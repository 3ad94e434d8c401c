"""The fake keeps the bot's messages as Telegram does: keyboards, edits, taps and their answers.

The bot side goes through aiogram's real ``Bot`` over HTTP; the user side is the fake's controls.
Every refusal is checked by the exception aiogram raises and Telegram's own description.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.utils.deep_linking import create_start_link

from booking_notifications.testing.fake_chats import NOT_MODIFIED, QUERY_ID_INVALID, TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram

ANN = TelegramUser(42, "Ann", "en", "ann_b", "Berg")
STRANGER = TelegramUser(666, "Mallory", "de")
REMINDER = "⏰ <b>Dentist</b> tomorrow at 10:00"


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


CONFIRM_OR_CANCEL = keyboard(
    [("✅ I'll be there", "b:7:ok")], [("❌ Cancel booking", "b:7:cancel")]
)
ARE_YOU_SURE = keyboard([("Yes, cancel", "b:7:cancel!"), ("Keep it", "b:7:keep")])


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    server.reset()
    server.per_chat_rate = None
    server.blocked.clear()
    server.callback_answer_timeout = 15.0
    return server


async def reminder(bot: Bot, markup: InlineKeyboardMarkup = CONFIRM_OR_CANCEL) -> Message:
    return await bot.send_message(ANN.id, REMINDER, parse_mode="HTML", reply_markup=markup)


def shown(markup: InlineKeyboardMarkup | None) -> object:
    """A keyboard as data (aiogram's objects compare their bot too)."""
    return None if markup is None else markup.model_dump(exclude_none=True)


def parsed(update: dict[str, Any], bot: Bot) -> Update:
    """The update as aiogram reads it: a wrong shape fails here, as it would in production."""
    return Update.model_validate(update, context={"bot": bot})


async def test_a_sent_keyboard_is_kept_and_comes_back_as_telegram_shows_it(
    fake: FakeTelegram, bot: Bot
) -> None:
    link = InlineKeyboardButton(text="Open", url="https://example.test/b/7")
    markup = keyboard([("✅ I'll be there", "b:7:ok")])
    markup.inline_keyboard.append([link])

    sent = await reminder(bot, markup)

    assert shown(sent.reply_markup) == shown(markup)
    assert [(b.text, b.callback_data, b.url) for b in fake.buttons(ANN.id, sent.message_id)] == [
        ("✅ I'll be there", "b:7:ok", None),
        ("Open", None, "https://example.test/b/7"),
    ]
    stored = fake.message(ANN.id, sent.message_id)
    assert stored.text == "⏰ Dentist tomorrow at 10:00" and stored.parse_mode == "HTML"
    assert stored.versions[0].source == REMINDER and stored.edits == []
    assert fake.messages_to(ANN.id) == [stored]


async def test_html_comes_back_as_entities_in_utf16_units(fake: FakeTelegram, bot: Bot) -> None:
    source = '😀 <b>Dentist</b> <i>at <u>10:00</u></i> <a href="https://x.test/">map</a>'

    sent = await bot.send_message(ANN.id, source, parse_mode="HTML")

    assert sent.text == "😀 Dentist at 10:00 map"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 3, 7),
        ("italic", 11, 8),
        ("underline", 14, 5),
        ("text_link", 20, 3),
    ]
    assert sent.html_text == source  # what a bot rebuilding the HTML gets back


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("\n  Hello <b>you</b>  \n", "Hello you", [("bold", 6, 3)]),
        ("<b> x </b>\n", " x", [("bold", 0, 2)]),  # not trimmed inside the first entity
        ("😀\t\n", "😀\t", []),  # only spaces and line breaks are trimmed
    ],
)
async def test_text_is_trimmed_as_telegram_trims_it(
    fake: FakeTelegram, bot: Bot, source: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    sent = await bot.send_message(ANN.id, source, parse_mode="HTML")

    assert sent.text == text
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == entities
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text=f"{source} \n", chat_id=ANN.id, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ANN.id, " \n <b> </b>", parse_mode="HTML")


@pytest.mark.parametrize(
    ("data", "accepted"),
    [("x" * 64, True), ("x" * 65, False), ("ж" * 32, True), ("ж" * 33, False)],
)
async def test_callback_data_is_limited_to_64_bytes_not_characters(
    fake: FakeTelegram, bot: Bot, data: str, accepted: bool
) -> None:
    markup = keyboard([("Tap", data)])
    if accepted:
        assert shown((await reminder(bot, markup)).reply_markup) == shown(markup)
    else:
        with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
            await reminder(bot, markup)
        assert fake.messages_to(ANN.id) == []


@pytest.mark.parametrize(
    ("reply_markup", "description"),
    [
        (
            '{"inline_keyboard": [[{"text": "Tap"}]]}',
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        ),
        ('{"inline_keyboard": [[{"callback_data": "x"}]]}', 'Can\'t find field "text"'),
        ('{"inline_keyboard": [{"text": "Tap"}]}', "must be an Array of Arrays"),
        ("{not json", "Bad Request: can't parse reply keyboard markup JSON object"),
        ("[1]", "Bad Request: object expected as reply markup"),
    ],
)
async def test_a_malformed_keyboard_is_refused_with_telegrams_words(
    fake: FakeTelegram, reply_markup: str, description: str
) -> None:
    params = {"chat_id": "42", "text": "hi", "reply_markup": reply_markup}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.url}/bot{fake.token}/sendMessage", data=params) as resp,
    ):
        body = await resp.json()
    assert resp.status == 400 and description in body["description"]
    assert fake.messages_to(42) == []


async def test_an_edit_replaces_text_and_keyboard_and_keeps_the_history(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)

    edited = await bot.edit_message_text(
        text="Cancel <b>Dentist</b>?",
        chat_id=ANN.id,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=ARE_YOU_SURE,
    )

    assert isinstance(edited, Message)
    assert edited.message_id == sent.message_id and edited.edit_date is not None
    assert edited.text == "Cancel Dentist?" and shown(edited.reply_markup) == shown(ARE_YOU_SURE)
    stored = fake.message(ANN.id, sent.message_id)
    assert [v.text for v in stored.versions] == ["⏰ Dentist tomorrow at 10:00", "Cancel Dentist?"]
    assert [b.text for b in stored.buttons()] == ["Yes, cancel", "Keep it"]
    assert fake.requests[-1].message_id == sent.message_id


async def test_editing_the_text_without_a_keyboard_removes_the_keyboard(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)

    edited = await bot.edit_message_text(
        text="✅ See you there", chat_id=ANN.id, message_id=sent.message_id
    )

    assert isinstance(edited, Message) and edited.reply_markup is None
    assert fake.buttons(ANN.id, sent.message_id) == []


async def test_an_edit_that_changes_nothing_is_refused_as_not_modified(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)

    async def edit(text: str, markup: InlineKeyboardMarkup) -> object:
        return await bot.edit_message_text(
            text=text,
            chat_id=ANN.id,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )

    with pytest.raises(TelegramBadRequest) as caught:
        await edit(REMINDER, CONFIRM_OR_CANCEL)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=ANN.id, message_id=sent.message_id, reply_markup=CONFIRM_OR_CANCEL
        )
    # Any difference is a change: the keyboard, or only the formatting of the same text.
    await edit(REMINDER, ARE_YOU_SURE)
    await edit(REMINDER.replace("b>", "i>"), ARE_YOU_SURE)

    assert caught.value.message == f"Bad Request: {NOT_MODIFIED}"
    assert len(fake.message(ANN.id, sent.message_id).edits) == 2


async def test_editing_a_message_that_is_not_the_bots_to_edit_is_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    said = await fake.user_says(ANN.id, "hello", ANN)
    sent = await reminder(bot)

    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=ANN.id, message_id=sent.message_id + 1)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=43, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message can't be edited"):
        await bot.edit_message_text(
            text="x", chat_id=ANN.id, message_id=said["message"]["message_id"]
        )
    with pytest.raises(TelegramBadRequest, match="message identifier is not specified"):
        await bot.edit_message_text(text="x")
    fake.blocked.add(ANN.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.edit_message_text(text="x", chat_id=ANN.id, message_id=sent.message_id)

    assert fake.message(ANN.id, sent.message_id).edits == []


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("", None, "Bad Request: message text is empty"),
        ("<b>bold", "HTML", "Bad Request: can't parse entities: Can't find end tag"),
        ("x" * 4097, None, "Bad Request: MESSAGE_TOO_LONG"),
    ],
)
async def test_edited_text_is_checked_as_sent_text_is(
    fake: FakeTelegram, bot: Bot, text: str, parse_mode: str | None, description: str
) -> None:
    sent = await reminder(bot)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text(
            text=text, chat_id=ANN.id, message_id=sent.message_id, parse_mode=parse_mode
        )
    assert description in caught.value.message


async def test_edit_reply_markup_without_a_keyboard_removes_it(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)

    edited = await bot.edit_message_reply_markup(chat_id=ANN.id, message_id=sent.message_id)

    assert isinstance(edited, Message) and edited.reply_markup is None
    assert edited.text == sent.text and edited.entities == sent.entities
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ANN.id, message_id=sent.message_id)


async def test_a_user_message_is_shaped_as_telegram_sends_it(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ANN.id, "Welcome")

    update = parsed(await fake.user_says(ANN.id, "👋 /start abc_123", ANN), bot)

    message = update.message
    assert message is not None and message.from_user is not None
    assert message.message_id == sent.message_id + 1  # one sequence per chat, both sides
    assert message.from_user.model_dump(exclude_none=True) == {
        "id": 42,
        "is_bot": False,
        "first_name": "Ann",
        "last_name": "Berg",
        "username": "ann_b",
        "language_code": "en",
    }
    assert (message.chat.id, message.chat.type, message.chat.username) == (42, "private", "ann_b")
    assert [(e.type, e.offset, e.length) for e in message.entities or []] == [
        ("bot_command", 3, 6)  # 👋 is two UTF-16 units
    ]
    assert update.update_id == fake.pending_updates[0]["update_id"]


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("/start", ["/start"]),
        ("/settings@fake_booking_bot now", ["/settings@fake_booking_bot"]),
        ("see /help and /stop", ["/help", "/stop"]),
        ("a/b or http://x.test/start", []),
        ("/start@ab is not for a bot", []),  # a bot name has 3-32 characters
        ("/ok@fake_booking_bot@", ["/ok@fake_booking_bot"]),
        ("/straße", []),
    ],
)
async def test_commands_are_marked_where_telegram_marks_them(
    fake: FakeTelegram, text: str, commands: list[str]
) -> None:
    message = (await fake.user_says(ANN.id, text))["message"]
    marked = [text[e["offset"] : e["offset"] + e["length"]] for e in message.get("entities", [])]
    assert marked == commands


async def test_a_chat_shows_its_user_once_they_are_known(fake: FakeTelegram, bot: Bot) -> None:
    sent = await reminder(bot)
    assert sent.chat.first_name == "User 42"  # the fake has not met Ann yet

    await fake.user_says(ANN.id, "hi", ANN)
    await fake.user_taps(ANN.id, sent.message_id, "✅ I'll be there")

    query = parsed(fake.pending_updates[-1], bot).callback_query
    assert query is not None and isinstance(query.message, Message)
    assert (query.message.chat.first_name, query.message.chat.username) == ("Ann", "ann_b")


async def test_a_deep_link_arrives_as_start_with_its_payload(fake: FakeTelegram, bot: Bot) -> None:
    link = await create_start_link(bot, "tok-9_Z")

    update = parsed(await fake.user_follows_link(link, ANN), bot)

    assert update.message is not None and update.message.text == "/start tok-9_Z"
    with pytest.raises(ValueError, match="not a link to @fake_booking_bot"):
        await fake.user_follows_link("https://t.me/other_bot?start=tok", ANN)
    with pytest.raises(ValueError, match="1-64 characters"):
        await fake.user_follows_link(f"https://t.me/fake_booking_bot?start={'x' * 65}", ANN)


async def test_who_may_say_what_where(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="is a group: say which user"):
        await fake.user_says(-100, "hi")
    with pytest.raises(ValueError, match="only user 42 writes in private chat 42"):
        await fake.user_says(ANN.id, "hi", STRANGER)
    group = (await fake.user_says(-100, "/start@fake_booking_bot", STRANGER))["message"]
    assert group["chat"] == {"id": -100, "type": "group", "title": "Group -100"}
    assert group["from"]["id"] == STRANGER.id


async def test_a_tap_is_a_callback_query_with_the_message_as_it_is_now(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)

    query_id = await fake.user_taps(ANN.id, sent.message_id, "❌ Cancel booking")

    update = parsed(fake.pending_updates[-1], bot)
    query = update.callback_query
    assert isinstance(query, CallbackQuery) and query.id == query_id
    assert query.data == "b:7:cancel" and query.from_user.id == ANN.id
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert shown(query.message.reply_markup) == shown(CONFIRM_OR_CANCEL)
    assert query.message.text == sent.text
    assert [q.id for q in fake.unanswered_callbacks()] == [query_id]
    await fake.user_taps(ANN.id, sent.message_id, "✅ I'll be there")
    again = parsed(fake.pending_updates[-1], bot).callback_query
    assert again is not None and again.id != query_id
    assert again.chat_instance == query.chat_instance  # one per chat


async def test_a_tap_is_answered_once_and_a_second_answer_is_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)
    query_id = await fake.user_taps(ANN.id, sent.message_id, "b:7:ok")  # by callback data

    assert await bot.answer_callback_query(query_id, text="See you!", cache_time=5)
    with pytest.raises(TelegramBadRequest) as again:
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")

    assert again.value.message == f"Bad Request: {QUERY_ID_INVALID}"
    assert fake.unanswered_callbacks() == []
    answers = fake.callback_query(query_id).answers
    assert [(a.text, a.cache_time, a.status) for a in answers] == [
        ("See you!", 5, 200),
        (None, 0, 400),
    ]
    assert [a.status for a in fake.callback_answers] == [200, 400, 400]


async def test_an_answer_too_late_or_too_long_leaves_the_tap_unanswered(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)
    query_id = await fake.user_taps(ANN.id, sent.message_id, "✅ I'll be there")

    with pytest.raises(TelegramBadRequest, match="Bad Request: MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    fake.callback_answer_timeout = 0.0  # every answer comes after the deadline
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)

    assert [q.id for q in fake.unanswered_callbacks()] == [query_id]


async def test_only_buttons_the_message_shows_now_can_be_tapped(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)
    link = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Open", url="https://example.test/")]]
    )
    with pytest.raises(LookupError, match="has no button 'Delete'"):
        await fake.user_taps(ANN.id, sent.message_id, "Delete")

    await bot.edit_message_reply_markup(chat_id=ANN.id, message_id=sent.message_id)
    with pytest.raises(LookupError, match="has no button"):
        await fake.user_taps(ANN.id, sent.message_id, "❌ Cancel booking")
    with pytest.raises(LookupError, match="no message 99 in chat 42"):
        await fake.user_taps(ANN.id, 99, "❌ Cancel booking")
    url_only = await reminder(bot, link)
    with pytest.raises(ValueError, match="not a callback button"):
        await fake.user_taps(ANN.id, url_only.message_id, "Open")
    assert fake.pending_updates == []


async def test_a_stranger_may_tap_and_is_who_the_query_is_from(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)

    await fake.user_taps(ANN.id, sent.message_id, "❌ Cancel booking", user=STRANGER)

    query = parsed(fake.pending_updates[-1], bot).callback_query
    assert query is not None and query.from_user.id == STRANGER.id
    assert isinstance(query.message, Message) and query.message.chat.id == ANN.id


async def test_a_forged_tap_is_delivered_as_given_and_can_be_answered(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await reminder(bot)
    query_id = await fake.user_taps(ANN.id, sent.message_id, "✅ I'll be there")
    forged = fake.pending_updates[-1]
    forged["callback_query"] |= {"id": "777", "data": "b:8:cancel"}  # someone else's booking

    queued = fake.queue_update(forged)

    assert queued["update_id"] > forged["update_id"]
    query = parsed(queued, bot).callback_query
    assert query is not None and (query.id, query.data) == ("777", "b:8:cancel")
    assert await bot.answer_callback_query("777", text="Not yours")
    assert [q.id for q in fake.unanswered_callbacks()] == [query_id]


async def test_a_user_who_blocks_the_bot_is_a_403_and_a_member_update(
    fake: FakeTelegram, bot: Bot
) -> None:
    blocked = parsed(await fake.user_blocks_bot(ANN), bot).my_chat_member

    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(ANN.id, "still there?")
    with pytest.raises(ValueError, match="blocked the bot"):
        await fake.user_says(ANN.id, "/start")
    unblocked = parsed(await fake.user_unblocks_bot(ANN), bot).my_chat_member
    await bot.send_message(ANN.id, "welcome back")

    assert blocked is not None and unblocked is not None
    assert (blocked.old_chat_member.status, blocked.new_chat_member.status) == ("member", "kicked")
    assert blocked.new_chat_member.user.id == bot.id and blocked.from_user.id == ANN.id
    assert unblocked.new_chat_member.status == "member"
