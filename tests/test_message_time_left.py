"""How long a reminder says is left: exact enough to act on, grammatical in every language.

The rule (see ``messages.format_time_left``): seconds round to the nearest minute (a delivery a
few seconds late still reads "in 1 day"), then the two largest adjacent units are shown, days at
most, and whatever is below them is dropped, never rounded up. Under a minute reads "in less than
a minute"; at or past the start, "now".
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.core.domain import NoticeKind
from booking_notifications.texts.messages import MessageContext, format_time_left, render

START = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
CTX = MessageContext(7, "Dentist", START, START + timedelta(hours=1), "UTC")
S, MIN, H, D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
UNIT = {"day": D, "hour": H, "minute": MIN}
BELOW = {"day": H, "hour": MIN, "minute": MIN}
"""The unit just below each leading unit: what the second shown unit is counted in."""

MANY = settings(max_examples=400, deadline=None, database=None)
LEFT = st.timedeltas(min_value=MIN, max_value=420 * D)


def reminder(left: timedelta, language: str = "en") -> str:
    return render(
        NoticeKind.REMINDER, dataclasses.replace(CTX, language=language), now=START - left
    )


@pytest.mark.parametrize(
    ("left", "says"),
    [
        (D, "starts in 1 day:"),
        (H, "starts in 1 hour:"),
        (H + 30 * MIN, "starts in 1 hour 30 minutes:"),
        (55 * MIN, "starts in 55 minutes:"),
        (21 * H, "starts in 21 hours:"),
        (6 * D, "starts in 6 days:"),
        (10 * D, "starts in 10 days:"),
        (D + 2 * H + 59 * MIN, "starts in 1 day 2 hours:"),
        (2 * D + 30 * MIN, "starts in 2 days:"),
        (MIN, "starts in 1 minute:"),
        (H + MIN, "starts in 1 hour 1 minute:"),
    ],
)
def test_an_english_reminder_says_the_time_left_exactly_enough_to_act_on(
    left: timedelta, says: str
) -> None:
    assert says in reminder(left)


@pytest.mark.parametrize(
    ("left", "says"),
    [
        (MIN, "начнётся через 1 минуту —"),
        (2 * MIN, "начнётся через 2 минуты —"),
        (5 * MIN, "начнётся через 5 минут —"),
        (11 * MIN, "начнётся через 11 минут —"),
        (21 * MIN, "начнётся через 21 минуту —"),
        (22 * MIN, "начнётся через 22 минуты —"),
        (25 * MIN, "начнётся через 25 минут —"),
        (H, "начнётся через 1 час —"),
        (H + 21 * MIN, "начнётся через 1 час 21 минуту —"),
        (H + 30 * MIN, "начнётся через 1 час 30 минут —"),
        (3 * H + 1 * MIN, "начнётся через 3 часа 1 минуту —"),
        (12 * H, "начнётся через 12 часов —"),
        (21 * H, "начнётся через 21 час —"),
        (D, "начнётся через 1 день —"),
        (2 * D + 3 * H, "начнётся через 2 дня 3 часа —"),
        (7 * D, "начнётся через 7 дней —"),
        (14 * D + 21 * H, "начнётся через 14 дней 21 час —"),
        (101 * D, "начнётся через 101 день —"),
        (111 * D, "начнётся через 111 дней —"),
    ],
)
def test_a_russian_reminder_is_grammatical_after_cherez(left: timedelta, says: str) -> None:
    assert says in reminder(left, "ru")


@pytest.mark.parametrize(
    ("left", "english", "russian"),
    [
        (29 * S, "starts in less than a minute:", "начнётся менее чем через минуту —"),
        (S, "starts in less than a minute:", "начнётся менее чем через минуту —"),
        (timedelta(0), "starts now:", "начнётся сейчас —"),
        (-5 * MIN, "starts now:", "начнётся сейчас —"),
    ],
)
def test_under_a_minute_and_after_the_start_a_reminder_says_so_in_words(
    left: timedelta, english: str, russian: str
) -> None:
    assert english in reminder(left)
    assert russian in reminder(left, "ru")


@pytest.mark.parametrize(
    ("left", "says"),
    [
        (D - 20 * S, "in 1 day"),  # a 24 h reminder delivered 20 s late
        (H - 500 * timedelta(milliseconds=1), "in 1 hour"),
        (D - 40 * S, "in 23 hours 59 minutes"),
        (MIN - 30 * timedelta(milliseconds=1), "in 1 minute"),  # a 1 min reminder, 30 ms late
        (30 * S, "in less than a minute"),  # half a minute rounds down
        (90 * S, "in 1 minute"),  # half a minute rounds down: never over by 30 s or more
        (91 * S, "in 2 minutes"),
        (2 * H + 31 * S, "in 2 hours 1 minute"),
    ],
)
def test_seconds_round_to_the_nearest_minute(left: timedelta, says: str) -> None:
    assert format_time_left(left, "en") == says


# --- the class: every duration, both languages ----------------------------------------------

ENGLISH = re.compile(r"in (\d+) (day|hour|minute)(s?)(?: (\d+) (day|hour|minute)(s?))?")
RUSSIAN = re.compile(r"через (\d+) (\w+)(?: (\d+) (\w+))?")
RUSSIAN_FORMS = {
    "day": ("день", "дня", "дней"),
    "hour": ("час", "часа", "часов"),
    "minute": ("минуту", "минуты", "минут"),
}
"""Each unit after "через" (accusative): one, few, many. Written out here, independently of the
CLDR data the code uses, so that the test can catch that data being wrong."""


def russian_form(unit: str, n: int) -> str:
    one, few, many = RUSSIAN_FORMS[unit]
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def parse(phrase: str, language: str) -> list[tuple[int, str]]:
    """The (count, unit) parts of a phrase, checking each part's grammar on the way."""
    if language == "en":
        match = ENGLISH.fullmatch(phrase)
        assert match, phrase
        parts = [(match[1], match[2], match[3]), (match[4], match[5], match[6])]
        for count, _unit, plural_s in parts:
            if count is not None:
                assert plural_s == ("" if count == "1" else "s"), phrase
        return [(int(c), u) for c, u, _ in parts if c is not None]
    match = RUSSIAN.fullmatch(phrase)
    assert match, phrase
    by_word = {form: unit for unit, forms in RUSSIAN_FORMS.items() for form in forms}
    result = []
    for count, word in [(match[1], match[2]), (match[3], match[4])]:
        if count is not None:
            assert word in by_word, phrase
            assert word == russian_form(by_word[word], int(count)), phrase
            result.append((int(count), by_word[word]))
    return result


@MANY
@given(left=LEFT, language=st.sampled_from(["en", "ru"]))
def test_any_time_left_reads_grammatically_and_never_overstates_it(
    left: timedelta, language: str
) -> None:
    parts = parse(format_time_left(left, language), language)
    shown = sum((UNIT[unit] * count for count, unit in parts), timedelta(0))
    units = [unit for _, unit in parts]

    assert all(count > 0 for count, _ in parts)
    assert units in (["day"], ["hour"], ["minute"], ["day", "hour"], ["hour", "minute"])
    if len(parts) == 2:
        assert parts[1][0] * UNIT[units[1]] < UNIT[units[0]]  # 1 day 23 hours, never 1 day 24
    assert shown - left < 30 * S  # over by less than half a minute, at most
    assert left - shown <= BELOW[units[0]] - 30 * S  # under by less than the unit below


@MANY
@given(
    count=st.integers(min_value=1, max_value=1000),
    unit=st.sampled_from(["day", "hour", "minute"]),
    late=st.timedeltas(min_value=timedelta(0), max_value=29 * S),
)
def test_a_whole_number_of_units_reads_as_exactly_that_even_a_few_seconds_late(
    count: int, unit: str, late: timedelta
) -> None:
    left = count * UNIT[unit] - late  # "1 minute" too: a 1 min reminder a moment late
    days, rest = divmod(count * UNIT[unit], D)
    expected = [(days, "day"), (rest // H, "hour"), ((rest % H) // MIN, "minute")]
    leading = next(i for i, (n, _) in enumerate(expected) if n)

    for language in ("en", "ru"):
        parts = parse(format_time_left(left, language), language)
        assert parts == [(n, u) for n, u in expected[leading : leading + 2] if n]


@MANY
@given(a=st.timedeltas(min_value=-D, max_value=420 * D), b=st.timedeltas(max_value=420 * D))
def test_more_time_left_never_reads_as_less(a: timedelta, b: timedelta) -> None:
    def value(left: timedelta) -> timedelta:
        phrase = format_time_left(left, "en")
        if phrase in ("now", "in less than a minute"):
            return timedelta(0) if phrase == "now" else S
        return sum((UNIT[u] * n for n, u in parse(phrase, "en")), timedelta(0))

    low, high = sorted([a, b])
    assert value(low) <= value(high)


@pytest.mark.parametrize(("unit", "most"), [("day", 1000), ("hour", 23), ("minute", 59)])
def test_every_russian_count_takes_its_own_case(unit: str, most: int) -> None:
    for n in range(1, most + 1):
        assert format_time_left(n * UNIT[unit], "ru") == f"через {n} {russian_form(unit, n)}"


def test_every_russian_hours_and_minutes_pair_takes_the_case_of_each_count() -> None:
    for hours in range(1, 24):
        for minutes in range(1, 60):
            assert format_time_left(hours * H + minutes * MIN, "ru") == (
                f"через {hours} {russian_form('hour', hours)} "
                f"{minutes} {russian_form('minute', minutes)}"
            )
