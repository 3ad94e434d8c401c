"""``/bookings``' query and text: exactly the chat's user's upcoming, uncancelled bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.users import UPCOMING_SHOWN, upcoming_bookings
from booking_notifications.api.views import BookingCard
from booking_notifications.bot.listing import bookings_list
from booking_notifications.testing.fake_html import parse_html
from booking_notifications.texts.actions import BookingAction, BookingTap, Signer
from tests.support.stack import api_only

H = timedelta(hours=1)
START = datetime(2026, 12, 2, 15, tzinfo=UTC)
SIGNER = Signer("test-secret")


async def test_only_the_chats_upcoming_uncancelled_bookings_soonest_first(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with api_only(time_env, db_url, task_queue) as s:
        later, _ = await s.book(5 * H, chat_id=7101, title="later")
        sooner, _ = await s.book(2 * H, chat_id=7101, title="sooner")
        short, now = await s.book(1 * H, H / 2, chat_id=7101, title="over by then")
        cancelled, _ = await s.book(3 * H, chat_id=7101, title="cancelled")
        others, _ = await s.book(2 * H, chat_id=7102, title="someone else's")
        await s.notifier.cancel(cancelled)
        async with s.sessions() as session:
            listed = await upcoming_bookings(session, 7101, now + 90 * timedelta(minutes=1))
            everything = await upcoming_bookings(session, 7101, now)
            nobody = await upcoming_bookings(session, 7199, now)
            limited = await upcoming_bookings(session, 7101, now, limit=1)

    assert listed == [sooner, later]
    assert everything == [short, sooner, later]
    assert others not in everything and nobody == []
    assert limited == [short, sooner]  # one more than shown: there are more


def card(number: int, confirmed: bool = False, language: str = "en") -> BookingCard:
    starts = START + number * H
    return BookingCard(
        number, f"Court {number}", starts, starts + H, False, confirmed, 42, 42, "UTC", language
    )


def test_the_list_names_each_booking_its_time_and_whether_it_is_confirmed() -> None:
    text, keyboard = bookings_list([card(1, confirmed=True), card(2)], SIGNER, 42, "en", START)

    assert parse_html(text)[0] == (
        "Your upcoming bookings:\n"
        "1. Court 1: Wed 2 Dec, 16:00–17:00 (UTC), ✅ confirmed\n"
        "2. Court 2: Wed 2 Dec, 17:00–18:00 (UTC), not confirmed yet"
    )
    assert [[label for label, _ in row] for row in keyboard] == [
        ["1. ✅ I'll be there", "1. ❌ Cancel booking"],
        ["2. ✅ I'll be there", "2. ❌ Cancel booking"],
    ]
    confirm, ask = keyboard[1]
    assert SIGNER.read(confirm[1], 42) == BookingTap(
        BookingAction.CONFIRM_IN_LIST, 2, int((START + 2 * H).timestamp()) // 60
    )
    assert SIGNER.read(ask[1], 42) == BookingTap(
        BookingAction.ASK_CANCEL, 2, int((START + 2 * H).timestamp()) // 60
    )
    assert SIGNER.read(ask[1], 43) is None  # signed for this chat only


def test_the_list_has_live_times() -> None:
    text, _ = bookings_list([card(1)], SIGNER, 42, "en", START)

    dates = [e for e in parse_html(text)[1] if e["type"] == "date_time"]
    assert [e["unix_time"] for e in dates] == [
        int((START + H).timestamp()),
        int((START + 2 * H).timestamp()),
    ]


def test_the_list_in_russian_agrees_with_bron() -> None:
    text, keyboard = bookings_list(
        [card(1, True, "ru"), card(2, False, "ru")], SIGNER, 42, "ru", START
    )

    assert parse_html(text)[0] == (
        "Ваши предстоящие брони:\n"
        "1. Бронь «Court 1»: ср 2 дек., 16:00–17:00 (UTC), ✅ подтверждена\n"
        "2. Бронь «Court 2»: ср 2 дек., 17:00–18:00 (UTC), ещё не подтверждена"
    )
    assert [label for label, _ in keyboard[0]] == ["1. ✅ Я приду", "1. ❌ Отменить бронь"]


def test_no_bookings_says_so_in_the_users_language() -> None:
    assert bookings_list([], SIGNER, 42, "en", START) == ("You have no upcoming bookings.", ())
    assert bookings_list([], SIGNER, 42, "ru", START)[0] == "У вас нет предстоящих броней."


def test_a_long_list_shows_the_next_ones_and_says_so() -> None:
    cards = [card(n) for n in range(1, UPCOMING_SHOWN + 2)]

    text, keyboard = bookings_list(cards, SIGNER, 42, "en", START)

    assert len(keyboard) == UPCOMING_SHOWN
    assert parse_html(text)[0].endswith(f"\nOnly the next {UPCOMING_SHOWN} are shown.")
    ru = bookings_list([card(n, language="ru") for n in range(1, 13)], SIGNER, 42, "ru", START)
    assert parse_html(ru[0])[0].endswith(f"\nПоказаны только ближайшие {UPCOMING_SHOWN}.")
