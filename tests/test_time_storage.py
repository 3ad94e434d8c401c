"""Whatever validation accepts, both databases store: no raw DBAPIError after a request passed.

PostgreSQL refuses what SQLite keeps (a NUL byte, quiet hours longer than their VARCHAR(11)), so
the same generated requests go to both backends (issue 11, item 11).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from booking_notifications.api.bookings import save_booking
from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.db.models import Booking, User
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from tests.support.dst import ZONES, readings

T = TypeVar("T")
NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
H = timedelta(hours=1)

printable = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
)
any_text = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=40)
"""Every code point UTF-8 can carry, control characters (NUL included) too."""
offsets = st.integers(min_value=1, max_value=400 * 86400).map(lambda s: timedelta(seconds=s))
quiet_typed = st.tuples(st.times(), st.times(), st.sampled_from(["", " ", "\t", "\n"])).map(
    lambda t: f"{t[2]}{t[0]:%H:%M}{t[2]}-{t[2]}{t[1]:%H:%M}{t[2]}"
)
plausible = st.builds(
    BookingRequest,
    chat_id=st.integers(min_value=1, max_value=2**40),
    starts_at=st.one_of(
        readings(),  # near DST changes, some in the past
        st.integers(min_value=60, max_value=10 * 365 * 86400).map(
            lambda s: NOW + timedelta(seconds=s)
        ),
    ),
    ends_at=st.just(NOW),  # replaced by the start plus a drawn length
    title=st.one_of(st.none(), printable, printable.map(lambda t: f" {t}\t")),
    reminders=st.lists(offsets, max_size=4, unique=True),
    start_notice=st.booleans(),
    end_notice=st.booleans(),
    time_zone=st.one_of(st.none(), st.sampled_from([*ZONES, "UTC"])),
    language=st.one_of(st.none(), st.sampled_from(["en", "ru", "pt-BR", "de_CH"])),
    quiet_hours=st.one_of(st.none(), quiet_typed),
    ref=st.one_of(st.none(), printable),
)
"""Requests that validation mostly accepts: DST readings, blanks to strip, quiet hours spaced."""
odd_values: dict[str, st.SearchStrategy[object]] = {
    "chat_id": st.integers(),
    "title": st.one_of(any_text, st.sampled_from(["", " ", "\t\n", "a\x00b", "Court 3\n"])),
    "ref": st.one_of(any_text, st.sampled_from(["", " ", "a\x00b", "r" * 129])),
    "quiet_hours": st.one_of(any_text, st.sampled_from(["00:00-23:59", "7:00-8:00", "22-08"])),
    "language": st.one_of(any_text, st.sampled_from(["xx", "en\n", "pt-BR-x-y"])),
    "time_zone": st.sampled_from(["Mars/Base", "Europe", "Europe/Berlin\n", ""]),
    "reminders": st.lists(st.timedeltas(max_value=timedelta(days=10**6)), max_size=4),
}
"""One field to spoil, to find what validation lets through and a database refuses."""


def spoiled(request: BookingRequest, change: tuple[str, object] | None) -> BookingRequest:
    if change is None:
        return request
    name, value = change
    return dataclasses.replace(request, **{name: value})  # type: ignore[arg-type]


requests = st.builds(
    spoiled,
    plausible,
    st.one_of(
        st.none(),
        st.sampled_from(sorted(odd_values)).flatmap(
            lambda name: odd_values[name].map(lambda value: (name, value))
        ),
    ),
)
positive_lengths = st.integers(min_value=1, max_value=40 * 86400)
lengths = st.one_of(
    positive_lengths, positive_lengths, positive_lengths, st.sampled_from([0, -1, -3600])
).map(lambda s: timedelta(seconds=s))
"""Mostly a real length; now and then an end not after the start."""


SERIAL = itertools.count()
"""Makes each example's ref its own: the database outlives the examples."""


def run(loop: asyncio.AbstractEventLoop, step: Awaitable[T]) -> T:
    return loop.run_until_complete(step)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests, lengths)
def test_every_request_that_validation_accepts_is_stored_as_validated(
    db_url: str, request: BookingRequest, length: timedelta
) -> None:
    """What is stored is what validation returned (its normalized copy, as callers must store);
    stored twice under its ref it is one booking, even at a reading a DST change repeats."""
    ref = None if request.ref is None else f"{next(SERIAL)}:{request.ref}"  # one per example
    request = dataclasses.replace(request, ends_at=request.starts_at + length, ref=ref)
    try:
        accepted = request.validated(NOW)
    except InvalidBooking as err:
        assert "\n" not in str(err)
        event("refused")
        return
    event("stored")
    loop = asyncio.new_event_loop()
    try:
        stored, again, user = run(loop, store_twice(db_url, accepted))
    finally:
        loop.close()

    assert (stored.title, stored.ref) == (accepted.title, accepted.ref)
    assert (stored.starts_at, stored.ends_at) == (accepted.starts_at, accepted.ends_at)
    if accepted.ref is not None:
        assert again.id == stored.id
    if accepted.quiet_hours is not None:
        assert user.quiet_hours == (accepted.quiet_hours or None)  # "" clears them


async def store_twice(db_url: str, request: BookingRequest) -> tuple[Booking, Booking, User]:
    engine = make_engine(db_url)
    try:
        sessions: Sessions = make_sessions(engine)
        first = await save_booking(sessions, request, NOW)
        second = await save_booking(sessions, request, NOW)
        async with sessions() as session:
            stored = await session.get(Booking, first.id)
            user = await session.scalar(select(User).where(User.chat_id == request.chat_id))
        assert stored is not None and user is not None
        return stored, second, user
    finally:
        await engine.dispose()


async def test_a_booking_at_a_repeated_reading_scheduled_again_under_its_ref_is_one_booking(
    db_url: str,
) -> None:
    """Python never finds a repeated reading in a ZoneInfo equal to a UTC time (PEP 495), so the
    original request would look moved; its validated copy carries UTC times."""
    starts_at = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    request = BookingRequest(chat_id=7, starts_at=starts_at, ends_at=starts_at + H, ref="dst-1")
    engine = make_engine(db_url)
    try:
        sessions = make_sessions(engine)
        accepted = request.validated(NOW)
        first = await save_booking(sessions, accepted, NOW)
        again = await save_booking(sessions, request.validated(NOW), NOW)
    finally:
        await engine.dispose()

    assert again.id == first.id
