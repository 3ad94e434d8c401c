"""``BookingRequest.url``: a reminder carries an "Open booking" button to the booking's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from booking_notifications.api.requests import InvalidBooking
from booking_notifications.bot.edits import kept_rows
from booking_notifications.channels import UrlButton
from booking_notifications.channels.telegram import inline_keyboard
from booking_notifications.db.models import URL_MAX
from booking_notifications.testing.fake_chats import Button
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.texts.keyboards import with_page
from tests.support.bookings import NOW, booking
from tests.support.stack import Stack

H = timedelta(hours=1)
PAGE = "https://booking.example/orders/1234?tab=details"


@pytest.mark.parametrize("url", [PAGE, "http://localhost:8080/b/1", "https://x.test/" + "a" * 2000])
def test_an_http_url_with_a_host_is_kept_as_given(url: str) -> None:
    assert booking(2 * H, now=NOW, url=url).validated(NOW).url == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://booking.example/1", "not an http:// or https:// URL"),
        ("booking.example/1", "not an http:// or https:// URL"),
        ("https://", "not an http:// or https:// URL"),
        ("https://booking.example/a b", "not an http:// or https:// URL"),
        ("https://booking.example/\n", "control character"),
        ("", "1 to 2048 characters"),
        ("https://x.test/" + "a" * URL_MAX, "1 to 2048 characters"),
    ],
)
def test_a_url_that_is_not_a_web_page_is_refused_before_anything_is_written(
    url: str, says: str
) -> None:
    with pytest.raises(InvalidBooking, match=says):
        booking(2 * H, now=NOW, url=url).validated(NOW)


def test_the_page_button_is_a_row_of_its_own_in_the_users_language() -> None:
    keyboard = with_page([[("✅ I'll be there", "data")]], PAGE, "ru")

    assert keyboard[-1] == [UrlButton("Открыть бронь", PAGE)]
    assert with_page((), None, "en") == ()
    markup = inline_keyboard(keyboard)
    assert markup is not None and markup.inline_keyboard[1][0].url == PAGE


def test_an_edit_that_keeps_the_buttons_keeps_the_page_button() -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="✅", callback_data="c")],
            [InlineKeyboardButton(text="Open booking", url=PAGE)],
        ]
    )

    assert kept_rows(markup) == [[("✅", "c")], [UrlButton("Open booking", PAGE)]]


async def test_a_reminder_opens_the_bookings_page_and_a_booking_without_one_has_no_button(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    with_url, _ = await time_stack.book(3 * H, chat_id=4401, reminders=[2 * H], url=PAGE)
    without, _ = await time_stack.book(3 * H, chat_id=4402, reminders=[2 * H])
    await time_stack.result(with_url)
    await time_stack.result(without)
    rows = await time_stack.rows(with_url)

    reminder = telegram.message(4401, rows["reminder_2h"].telegram_message_id or 0)
    start = telegram.message(4401, rows["start"].telegram_message_id or 0)
    assert Button("Open booking", url=PAGE) in reminder.buttons()
    assert all(b.url is None for b in start.buttons())
    assert all(b.url is None for m in telegram.messages_to(4402) for b in m.buttons())
