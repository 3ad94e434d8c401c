"""When a booking is: its end date when it ends on another day, its year when not this year.

Both are judged in the user's time zone, the year against the moment the message is sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.core.domain import NoticeKind
from booking_notifications.texts.messages import MessageContext, format_span, render

THIN = "\u2009"  # CLDR's English interval pattern has thin spaces around its dash
H = timedelta(hours=1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def start_notice(
    starts: datetime, ends: datetime, *, now: datetime, zone: str = "UTC", language: str = "en"
) -> str:
    ctx = MessageContext(7, "Court", starts, ends, zone, language)
    return render(NoticeKind.START, ctx, now=now)


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", f"Wed 1 Jul, 14:00{THIN}–{THIN}Thu 2 Jul, 11:00 (UTC)"),
        ("ru", "ср 1 июл., 14:00 — чт 2 июл., 11:00 (UTC)"),
    ],
)
def test_a_booking_over_several_days_shows_its_end_date(language: str, shown: str) -> None:
    text = start_notice(
        at(2026, 7, 1, 14), at(2026, 7, 2, 11), now=at(2026, 7, 1, 14), language=language
    )

    assert shown in text


def test_a_booking_within_one_day_shows_its_date_once() -> None:
    text = start_notice(at(2026, 7, 1, 14), at(2026, 7, 1, 16), now=at(2026, 6, 1))

    assert "Wed 1 Jul, 14:00–16:00 (UTC)" in text


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("UTC", "Wed 1 Jul, 22:00–23:30"),
        ("Asia/Tokyo", "Thu 2 Jul, 07:00–08:30"),
        ("Europe/Berlin", "Thu 2 Jul, 00:00–01:30"),
    ],
)
def test_a_booking_within_one_local_day_shows_one_date_in_each_zone(zone: str, shown: str) -> None:
    """22:00–23:30 UTC on 1 July falls within 2 July in Tokyo and in Berlin (summer time)."""
    text = start_notice(at(2026, 7, 1, 22), at(2026, 7, 1, 23, 30), now=at(2026, 7, 1), zone=zone)

    assert shown in text


def test_a_booking_that_crosses_midnight_in_the_users_zone_shows_both_dates() -> None:
    """21:30–23:30 UTC is 23:30–01:30 in Berlin in summer: two dates there, one in UTC."""
    starts, ends, now = at(2026, 7, 1, 21, 30), at(2026, 7, 1, 23, 30), at(2026, 7, 1)

    assert f"Wed 1 Jul, 23:30{THIN}–{THIN}Thu 2 Jul, 01:30" in start_notice(
        starts, ends, now=now, zone="Europe/Berlin"
    )
    assert "Wed 1 Jul, 21:30–23:30" in start_notice(starts, ends, now=now)


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "Tue 5 Jan 2027, 10:00–11:00"), ("ru", "вт 5 янв. 2027, 10:00–11:00")],
)
def test_a_booking_in_another_year_than_the_send_moment_carries_its_year(
    language: str, shown: str
) -> None:
    text = start_notice(
        at(2027, 1, 5, 10), at(2027, 1, 5, 11), now=at(2026, 12, 20), language=language
    )

    assert shown in text


def test_a_booking_across_new_year_carries_the_year_only_on_the_date_in_the_next_year() -> None:
    text = start_notice(at(2026, 12, 31, 22), at(2027, 1, 1, 2), now=at(2026, 12, 30))

    assert f"Thu 31 Dec, 22:00{THIN}–{THIN}Fri 1 Jan 2027, 02:00" in text


def test_a_past_booking_in_last_year_carries_its_year() -> None:
    ctx = MessageContext(7, "Court", at(2026, 12, 31, 9), at(2026, 12, 31, 10), "UTC")

    text = render(NoticeKind.END, ctx, now=at(2027, 1, 1, 9))

    assert "Thu 31 Dec 2026, 09:00–10:00" in text


@pytest.mark.parametrize(("zone", "year_shown"), [("Asia/Tokyo", False), ("UTC", True)])
def test_the_current_year_is_the_send_moments_year_in_the_users_zone(
    zone: str, year_shown: bool
) -> None:
    """23:30 UTC on 31 Dec 2026 is already 1 Jan 2027 in Tokyo."""
    text = start_notice(
        at(2027, 1, 1, 3), at(2027, 1, 1, 4), now=at(2026, 12, 31, 23, 30), zone=zone
    )

    assert ("2027" in text) is year_shown


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_kind_shows_both_dates_of_a_booking_over_several_days(
    kind: NoticeKind,
) -> None:
    ctx = MessageContext(7, "Court", at(2026, 7, 1, 14), at(2026, 7, 3, 11), "UTC", "ru")

    text = render(kind, ctx, now=at(2026, 7, 1, 13))

    assert "ср 1 июл., 14:00 — пт 3 июл., 11:00" in text


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"]
MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    starts=MOMENTS,
    length=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=40)),
    now=MOMENTS,
    zone=st.sampled_from(ZONES),
    language=st.sampled_from(["en", "ru"]),
)
def test_a_span_names_the_end_date_when_it_differs_and_a_year_when_not_this_year(
    starts: datetime, length: timedelta, now: datetime, zone: str, language: str
) -> None:
    tz = ZoneInfo(zone)
    ends = starts + length
    local_start, local_end = starts.astimezone(tz), ends.astimezone(tz)
    this_year = now.astimezone(tz).year

    span = format_span(starts, ends, zone, language, now=now)

    two_dates = local_start.date() != local_end.date()
    assert span.count(",") == 1 + two_dates
    assert format_date(local_start, "d MMM", locale=language) in span
    assert (format_date(local_end, "d MMM", locale=language) in span) or not two_dates
    years = {str(d.year) for d in (local_start, local_end) if two_dates or d is local_start}
    for year in years:
        assert (year in span) is (int(year) != this_year)
    assert span.endswith(local_end.strftime("%H:%M"))
