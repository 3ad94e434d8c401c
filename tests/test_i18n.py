"""Every notice reads right in each catalogue language, with its dates in the user's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po

from booking_notifications.core.domain import NoticeKind
from booking_notifications.texts.messages import (
    LESS_THAN_A_MINUTE,
    NOW,
    REASON,
    TEXTS,
    UNTITLED,
    MessageContext,
    language_of,
    render,
)

START = datetime(2026, 12, 1, 9, tzinfo=UTC)
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def context(language: str, zone: str = "Europe/Moscow") -> MessageContext:
    return MessageContext(7, "Корт <1>", START, START + timedelta(hours=2), zone, language, "снег")


def source_texts() -> list[str]:
    """Every text marked with ``_`` in the package, as ``pybabel extract -k _`` finds them."""
    package = resources.files("booking_notifications")
    texts = []
    for module in sorted(str(p) for p in Path(str(package)).rglob("*.py")):
        with open(module, "rb") as source:
            texts += [str(m[2]) for m in extract_python(source, {"_": None}, [], {})]
    return texts


def test_the_extracted_texts_are_the_ones_messages_renders() -> None:
    assert {*TEXTS.values(), REASON, UNTITLED, LESS_THAN_A_MINUTE, NOW} <= set(source_texts())


def test_every_source_text_has_a_russian_translation_with_the_same_placeholders() -> None:
    path = resources.files("booking_notifications") / "locale/ru/LC_MESSAGES/messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale="ru")
    for source in source_texts():
        message = catalog.get(source)
        assert message is not None and message.string, f"no translation of {source!r}"
        assert not message.fuzzy
        assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(
            PLACEHOLDER.findall(source)
        )


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_a_russian_user_reads_russian_with_russian_dates(kind: NoticeKind) -> None:
    text = render(kind, context("ru"), now=START - timedelta(hours=1))

    assert "дек." in text and "12:00–14:00" in text  # 09:00 UTC is 12:00 in Moscow
    assert "<b>Корт &lt;1&gt;</b>" in text
    assert not re.search(r"\b(starts|ended|moved|cancelled|Reminder)\b", text)


def test_russian_reminders_and_cancellations_say_it_in_russian() -> None:
    reminder = render(NoticeKind.REMINDER, context("ru"), now=START - timedelta(hours=1))
    cancel = render(NoticeKind.CANCEL, context("ru"), now=START)
    assert "Напоминание" in reminder and "через 1 час" in reminder
    assert "отменена" in cancel and "Причина: снег" in cancel


@pytest.mark.parametrize(
    ("code", "expected"), [("ru_RU", "ru"), ("ru-RU", "ru"), ("de", "en"), (None, "en")]
)
def test_an_unknown_language_falls_back_to_english(code: str | None, expected: str) -> None:
    assert language_of(code) == expected


def test_a_german_user_gets_english_text_with_english_dates_never_a_mix() -> None:
    text = render(NoticeKind.START, context("de"), now=START)
    assert "starts now" in text and "Tue 1 Dec" in text


@pytest.mark.parametrize(
    ("zone", "local"),
    [("America/New_York", "04:00–06:00"), ("Asia/Tokyo", "18:00–20:00"), ("UTC", "09:00–11:00")],
)
def test_times_are_shown_in_the_users_zone_on_each_side_of_utc(zone: str, local: str) -> None:
    assert local in render(NoticeKind.START, context("en", zone), now=START)


def test_a_booking_across_a_dst_change_shows_each_end_in_its_own_offset() -> None:
    """Berlin leaves summer time at 03:00 on 25 Oct 2026: 00:30 UTC is 02:30, 01:30 UTC 02:30 too."""
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    ctx = MessageContext(1, "Night", start, start + timedelta(hours=1), "Europe/Berlin")
    text = render(NoticeKind.START, ctx, now=start)
    assert "02:30–02:30" in text  # an hour apart in UTC; the local clock went back
