"""Message texts: escaped Telegram HTML, local times in the user's zone, one text per notice kind."""

from __future__ import annotations

import dataclasses
import html
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.api.requests import BookingRequest
from booking_notifications.core.domain import NoticeKind
from booking_notifications.db.models import CANCEL_REASON_MAX, TITLE_MAX
from booking_notifications.testing.fake_telegram import _TelegramHTML
from booking_notifications.texts.messages import TELEGRAM_TEXT_MAX, MessageContext, render

START = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)  # a Thursday in winter
HOUR = timedelta(hours=1)

CTX = MessageContext(
    booking_id=7,
    title="Dentist",
    starts_at=START,
    ends_at=START + HOUR,
    time_zone="UTC",
)

SHOWN_IN = {
    "en": ("Booking #7", "Reason"),
    "ru": ("№7", "Причина"),
    "ru_RU": ("№7", "Причина"),
    "de": ("Booking #7", "Reason"),  # no German catalogue: English
    "ja": ("Booking #7", "Reason"),
}
"""What a booking without a title is called, and how a cancel reason is labelled, per language."""

FAST = settings(max_examples=100, deadline=None, database=None)


def visible(text: str) -> str:
    """What Telegram shows (and counts) of an HTML text; raises when its parser would refuse it."""
    return _TelegramHTML(text).visible_text()


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_a_title_with_html_comes_out_escaped(kind: NoticeKind) -> None:
    ctx = dataclasses.replace(CTX, title="<script>&")

    text = render(kind, ctx, now=START - HOUR)

    assert "<b>&lt;script&gt;&amp;</b>" in text
    assert "<script>" not in text
    assert "<script>&" in visible(text)


def test_a_cancel_reason_with_html_comes_out_escaped_on_its_own_line() -> None:
    ctx = dataclasses.replace(CTX, cancel_reason='<i>ill</i> & "away"')

    text = render(NoticeKind.CANCEL, ctx, now=START - HOUR)

    assert text.endswith("\nReason: &lt;i&gt;ill&lt;/i&gt; &amp; &quot;away&quot;")
    assert visible(text).endswith('\nReason: <i>ill</i> & "away"')


@pytest.mark.parametrize("reason", [None, ""])
def test_a_cancellation_without_a_reason_has_no_reason_line(reason: str | None) -> None:
    text = render(NoticeKind.CANCEL, dataclasses.replace(CTX, cancel_reason=reason), now=START)

    assert "Reason" not in text
    assert "is cancelled" in text


@pytest.mark.parametrize("kind", [k for k in NoticeKind if k is not NoticeKind.CANCEL])
def test_only_the_cancellation_mentions_the_cancel_reason(kind: NoticeKind) -> None:
    text = render(kind, dataclasses.replace(CTX, cancel_reason="snowed in"), now=START - HOUR)

    assert "snowed in" not in text
    assert "\n" not in text


@pytest.mark.parametrize("title", [None, "", " ", "\t\n ", "\u00a0", "\u3000"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_a_booking_without_a_title_or_with_a_blank_one_is_named_by_its_id(
    kind: NoticeKind, title: str | None
) -> None:
    text = render(kind, dataclasses.replace(CTX, title=title), now=START - HOUR)

    assert "<b>Booking #7</b>" in text


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_blank_title_is_named_by_its_id_in_the_users_language(language: str) -> None:
    ctx = dataclasses.replace(CTX, title="  ", language=language)

    text = render(NoticeKind.START, ctx, now=START)

    assert f"<b>{SHOWN_IN[language][0]}</b>" in text


def test_a_title_is_shown_without_its_surrounding_whitespace() -> None:
    text = render(NoticeKind.START, dataclasses.replace(CTX, title=" \n Dentist\t "), now=START)

    assert "<b>Dentist</b> starts now" in text


@pytest.mark.parametrize(
    ("time_zone", "local_times"),
    [
        ("UTC", "Thu 15 Jan, 10:00–11:00"),
        ("Europe/Berlin", "Thu 15 Jan, 11:00–12:00"),
        ("America/New_York", "Thu 15 Jan, 05:00–06:00"),
        ("Asia/Tokyo", "Thu 15 Jan, 19:00–20:00"),
        ("Pacific/Auckland", "Thu 15 Jan, 23:00\u2009–\u2009Fri 16 Jan, 00:00"),  # ends on the 16th
    ],
)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_times_are_shown_in_the_users_time_zone_and_name_it(
    kind: NoticeKind, time_zone: str, local_times: str
) -> None:
    text = render(kind, dataclasses.replace(CTX, time_zone=time_zone), now=START - HOUR)

    assert local_times in text
    assert time_zone in text


def test_a_summer_booking_shows_berlin_summer_time() -> None:
    summer = START.replace(month=7, day=15)  # a Wednesday
    ctx = dataclasses.replace(
        CTX, starts_at=summer, ends_at=summer + HOUR, time_zone="Europe/Berlin"
    )

    assert "Wed 15 Jul, 12:00–13:00" in render(NoticeKind.START, ctx, now=summer)


def test_the_same_moment_in_another_offset_shows_the_same_local_time() -> None:
    berlin = dataclasses.replace(CTX, time_zone="Europe/Berlin")
    new_york_offset = timezone(timedelta(hours=-5))
    same_moment = dataclasses.replace(
        berlin,
        starts_at=START.astimezone(new_york_offset),
        ends_at=(START + HOUR).astimezone(new_york_offset),
    )

    assert render(NoticeKind.START, same_moment, now=START) == render(
        NoticeKind.START, berlin, now=START
    )


@pytest.mark.parametrize(
    ("left", "says"),
    [
        (timedelta(hours=24), "starts in 1 day"),
        (HOUR, "starts in 1 hour"),
        (timedelta(minutes=30), "starts in 30 minutes"),
        (timedelta(minutes=2), "starts in 2 minutes"),
    ],
)
def test_a_reminder_says_how_long_is_left_at_the_moment_it_is_sent(
    left: timedelta, says: str
) -> None:
    assert says in render(NoticeKind.REMINDER, CTX, now=START - left)


def test_a_reminder_rendered_after_the_start_never_says_a_negative_time() -> None:
    text = render(NoticeKind.REMINDER, CTX, now=START + timedelta(minutes=5))

    assert "<b>Dentist</b> starts now: Thu 15 Jan" in text


@pytest.mark.parametrize(
    ("kind", "opening"),
    [
        (NoticeKind.REMINDER, "⏰ Reminder: <b>Dentist</b> starts in"),
        (NoticeKind.START, "▶️ <b>Dentist</b> starts now"),
        (NoticeKind.END, "✅ <b>Dentist</b> has ended"),
        (NoticeKind.MOVED, "📅 <b>Dentist</b> has moved: now"),
        (NoticeKind.CANCEL, "❌ <b>Dentist</b> on"),
    ],
)
def test_each_notice_kind_has_its_own_text(kind: NoticeKind, opening: str) -> None:
    assert render(kind, CTX, now=START - HOUR).startswith(opening)


def test_every_notice_kind_yields_a_distinct_text() -> None:
    texts = {render(kind, CTX, now=START - HOUR) for kind in NoticeKind}

    assert len(texts) == len(NoticeKind)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_the_longest_title_and_reason_all_in_escaped_characters_still_fit_telegram(
    kind: NoticeKind, language: str
) -> None:
    ctx = dataclasses.replace(
        CTX, title='"' * TITLE_MAX, cancel_reason='"' * CANCEL_REASON_MAX, language=language
    )

    shown = visible(render(kind, ctx, now=START - HOUR))

    assert '"' * TITLE_MAX in shown
    assert 0 < len(shown) <= TELEGRAM_TEXT_MAX


@FAST
@given(
    kind=st.sampled_from(NoticeKind),
    title=st.none() | st.text(max_size=TITLE_MAX),
    reason=st.none() | st.text(max_size=CANCEL_REASON_MAX),
    time_zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"]),
    language=st.sampled_from(sorted(SHOWN_IN)),
    left=st.integers(min_value=-3600, max_value=30 * 86400),
)
def test_any_title_and_reason_give_valid_telegram_html_within_the_length_limit(
    kind: NoticeKind,
    title: str | None,
    reason: str | None,
    time_zone: str,
    language: str,
    left: int,
) -> None:
    ctx = dataclasses.replace(
        CTX, title=title, cancel_reason=reason, time_zone=time_zone, language=language
    )

    text = render(kind, ctx, now=START - timedelta(seconds=left))
    shown = visible(text)

    assert shown.strip()
    assert len(shown) <= TELEGRAM_TEXT_MAX
    untitled, reason_label = SHOWN_IN[language]
    shown_title = (title or "").strip() or untitled
    assert f"<b>{html.escape(shown_title)}</b>" in text  # never an empty bold tag
    assert shown_title in shown
    if kind is NoticeKind.CANCEL and reason:
        assert shown.endswith(f"\n{reason_label}: {reason}")
    else:
        assert shown.count("\n") == shown_title.count("\n")  # no reason line


@pytest.mark.parametrize(
    ("language", "reminder"),
    [("pt-BR", "Reminder"), ("en-US", "Reminder"), ("ru-RU", "Напоминание"), ("EN", "Reminder")],
)
def test_a_language_that_passed_validation_can_be_rendered(language: str, reminder: str) -> None:
    request = BookingRequest(
        chat_id=1, starts_at=START, ends_at=START + HOUR, language=language
    ).validated(START - 2 * HOUR)
    assert request.language is not None
    ctx = dataclasses.replace(CTX, language=request.language)

    assert reminder in render(NoticeKind.REMINDER, ctx, now=START - HOUR)
