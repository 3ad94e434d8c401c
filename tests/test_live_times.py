"""Live times: a notice's start, end and time left are Telegram ``date_time`` entities.

A client that knows the entity shows the moment in its reader's own locale and zone, and the time
left as a relative time it keeps current; any other client shows our words, which are the same
with and without the entities. The fake Bot API checks the entities as Telegram does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import MessageEntity

from booking_notifications.channels import Rejected
from booking_notifications.channels.telegram_errors import FailedAnswer
from booking_notifications.core.domain import NoticeKind
from booking_notifications.testing.fake_html import parse_html
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.texts.messages import MessageContext, render
from tests.support.stack import Stack, telegram_channel

START = datetime(2026, 12, 2, 15, tzinfo=UTC)
UNIX_START = 1_796_223_600
H = timedelta(hours=1)


def context(language: str, end: datetime = START + H) -> MessageContext:
    return MessageContext(7, "🎾 Корт 3", START, end, "Europe/Moscow", language, "rain")


def utf16_slice(text: str, entity: dict[str, object]) -> str:
    units = text.encode("utf-16-le")
    offset, length = int(str(entity["offset"])), int(str(entity["length"]))
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("end", [START + H, START + 25 * H], ids=["one day", "two days"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_the_live_text_reads_exactly_as_the_plain_one(
    kind: NoticeKind, language: str, end: datetime
) -> None:
    now = START - 90 * timedelta(minutes=1)
    live = render(kind, context(language, end), now=now, live=True)
    plain = render(kind, context(language, end), now=now)

    assert parse_html(live)[0] == parse_html(plain)[0]
    assert "<tg-time" in live and "<tg-time" not in plain


def test_a_reminder_has_its_time_left_relative_and_its_start_and_end_as_moments() -> None:
    text, entities = parse_html(
        render(NoticeKind.REMINDER, context("en"), now=START - H, live=True)
    )
    live = [
        (utf16_slice(text, e), e["unix_time"], e["date_time_format"])
        for e in entities
        if e["type"] == "date_time"
    ]

    assert live == [
        ("starts in 1 hour", UNIX_START, "r"),
        ("Wed 2 Dec, 18:00", UNIX_START, "wDt"),
        ("19:00", UNIX_START + 3600, "t"),
    ]


def test_a_booking_over_two_days_has_its_end_as_a_full_moment() -> None:
    text, entities = parse_html(
        render(NoticeKind.START, context("ru", START + 25 * H), now=START, live=True)
    )
    moments = [(utf16_slice(text, e), e["date_time_format"]) for e in entities if "unix_time" in e]

    assert moments == [("ср 2 дек., 18:00", "wDt"), ("чт 3 дек., 19:00", "wDt")]


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ('<tg-time unix="1796223600" format="x">18:00</tg-time>', "invalid date_time format"),
        ('<tg-time unix="1796223600" format="rt">18:00</tg-time>', "invalid date_time format"),
        ('<tg-time unix="1796223600" format="tw">18:00</tg-time>', "invalid date_time format"),
        ('<tg-time format="t">18:00</tg-time>', "valid Unix time"),
        ('<tg-time unix="soon">18:00</tg-time>', "valid Unix time"),
    ],
)
async def test_the_fake_refuses_a_date_time_tag_telegram_would_refuse(
    telegram: FakeTelegram, tag: str, problem: str
) -> None:
    channel = telegram_channel(telegram)
    try:
        with pytest.raises(Rejected, match="Bad Request"):
            await channel.send(42, f"at {tag}")
    finally:
        await channel.close()

    assert telegram.requests[-1].status == 400 and problem in (
        telegram.requests[-1].description or ""
    )


@pytest.mark.parametrize("fmt", ["", "r", "w", "d", "D", "t", "T", "wd", "wDT", "dt", "wDt"])
async def test_the_fake_accepts_every_format_of_the_grammar(
    telegram: FakeTelegram, fmt: str
) -> None:
    channel = telegram_channel(telegram)
    try:
        await channel.send(42, f'👋 <tg-time unix="{UNIX_START}" format="{fmt}">18:00</tg-time>')
    finally:
        await channel.close()

    entity = telegram.messages_to(42)[-1].current.entities[0]
    assert entity["type"] == "date_time" and entity["unix_time"] == UNIX_START
    assert entity["offset"] == 3  # "👋" is two UTF-16 code units, then a space
    assert entity.get("date_time_format", "") == fmt


async def test_explicit_entities_are_checked_in_utf16_code_units(telegram: FakeTelegram) -> None:
    channel = telegram_channel(telegram)
    text = "🎾 at 18:00"  # 11 UTF-16 code units: the emoji counts two
    at = MessageEntity(type="date_time", offset=6, length=5, unix_time=UNIX_START)
    beyond = MessageEntity(type="date_time", offset=7, length=5, unix_time=UNIX_START)
    try:
        sent = await channel.bot.send_message(42, text, parse_mode=None, entities=[at])
        with pytest.raises(FailedAnswer):
            await channel.bot.send_message(42, text, parse_mode=None, entities=[beyond])
    finally:
        await channel.close()

    assert sent.entities is not None and sent.entities[0].unix_time == UNIX_START
    assert sent.entities[0].extract_from(text) == "18:00"
    assert "beyond the end of the text" in (telegram.requests[-1].description or "")


async def test_a_reminder_carries_a_date_time_entity_of_the_bookings_start(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    booking_id, now = await time_stack.book(3 * H, chat_id=4301, title="Sauna", reminders=[2 * H])
    await time_stack.result(booking_id)
    rows = await time_stack.rows(booking_id)
    starts_at = int((now + 3 * H).timestamp())

    reminder = telegram.message(4301, rows["reminder_2h"].telegram_message_id or 0)
    live = [e for e in reminder.current.entities if e["type"] == "date_time"]
    relative = [e for e in live if e.get("date_time_format") == "r"]
    moments = [e for e in live if e.get("date_time_format") == "wDt"]
    # The end is a full moment too when the booking crosses midnight (of the skipped clock).
    start = [e for e in moments if e["unix_time"] == starts_at]
    assert {e["unix_time"] for e in moments} <= {starts_at, starts_at + 3600}
    assert len(relative) == 1 and len(start) == 1, json.dumps(reminder.to_json())
    assert relative[0]["unix_time"] == start[0]["unix_time"] == starts_at
    assert utf16_slice(reminder.text, relative[0]) == "starts in 2 hours"
    assert utf16_slice(reminder.text, start[0]) in reminder.text
    assert "<tg-time" in (telegram.sent_to(4301)[0].text or "")  # sent as Telegram HTML
