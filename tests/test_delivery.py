"""The delivery activity against the fake Bot API: Telegram's errors sorted, stale notices kept back.

Called directly (no Temporal): what the activity returns or raises is what Temporal acts on.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from booking_notifications.activities import heartbeats, notices
from booking_notifications.activities.heartbeats import heartbeating
from booking_notifications.activities.notices import NoticeActivities
from booking_notifications.channels import Keyboard
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking, Event, Notification, User
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.testing.fake_telegram import FakeTelegram, ProxyReply
from booking_notifications.workflows.plan import plan_notices
from booking_notifications.workflows.types import (
    BookingInput,
    DeliveryOutcome,
    DeliveryRequest,
    MirrorRequest,
    Notice,
)
from tests.support.refusals import refusing_sent
from tests.support.stack import telegram_channel

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
"""A fixed moment: the activities are given this clock, and no wall clock is read at import."""


START = NOW + timedelta(hours=1)
END = START + timedelta(hours=1)


@dataclass
class Delivery:
    """One booking an hour ahead, its 1 h reminder due now, with its rows, and activities to deliver it."""

    activities: NoticeActivities
    sessions: Sessions
    telegram: FakeTelegram
    booking_id: int
    notices: dict[str, Notice]

    def request(self, key: str) -> DeliveryRequest:
        notice = self.notices[key]
        return DeliveryRequest(
            self.booking_id, key, notice.kind, notice.due_at, notice.latest_at, START, END
        )

    async def deliver_each(self, *keys: str) -> list[DeliveryOutcome]:
        """Deliver these notices one after the other; their outcomes."""
        return [await self.activities.deliver(self.request(key)) for key in keys]

    async def row(self, key: str) -> Notification:
        async with self.sessions() as session:
            found = await session.scalar(
                select(Notification).where(
                    Notification.booking_id == self.booking_id, Notification.key == key
                )
            )
            assert found is not None
            return found

    async def chat_ids(self) -> dict[int, int]:
        """Each user's chat id, with how many bookings the user has."""
        async with self.sessions() as session:
            users = await session.scalars(select(User).options(selectinload(User.bookings)))
            return {user.chat_id: len(user.bookings) for user in users if user.chat_id is not None}

    async def event_count(self) -> int:
        async with self.sessions() as session:
            return len((await session.scalars(select(Event))).all())

    async def change_booking(self, **values: object) -> None:
        async with self.sessions() as session:
            await session.execute(update(Booking).values(**values))
            await session.commit()


async def make_delivery(
    db_url: str, telegram: FakeTelegram, chat_id: int
) -> AsyncIterator[Delivery]:
    engine = make_engine(db_url)
    sessions = make_sessions(engine)
    async with sessions() as session:
        user = User(chat_id=chat_id, time_zone="Europe/Berlin")
        booking = Booking(user=user, title="Yoga & <tea>", starts_at=START, ends_at=END)
        session.add(booking)
        await session.commit()
    notices = plan_notices(BookingInput(booking.id, START, END, reminders=[3600]), NOW)
    channel = telegram_channel(telegram)
    activities = NoticeActivities(sessions, channel, clock=lambda: NOW)
    await activities.mirror(MirrorRequest(booking.id, notices))
    try:
        yield Delivery(activities, sessions, telegram, booking.id, {n.key: n for n in notices})
    finally:
        await channel.close()
        await engine.dispose()


def upgraded_to_a_supergroup(telegram: FakeTelegram, group: int) -> int:
    """Have Telegram upgrade ``group`` to a supergroup (and not pace its chats); the new id."""
    telegram.per_chat_rate = None
    return telegram.migrate(group)


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(blocked=[403], unknown=[400]) as server:
        yield server


@pytest_asyncio.fixture
async def chat(db_url: str, telegram: FakeTelegram) -> AsyncIterator[Delivery]:
    async for delivery in make_delivery(db_url, telegram, 1001):
        yield delivery


async def test_a_due_reminder_is_sent_escaped_and_recorded(chat: Delivery) -> None:
    outcome = await chat.activities.deliver(chat.request("reminder_1h"))

    row = await chat.row("reminder_1h")
    assert outcome.status is NoticeStatus.SENT and outcome.message_id == row.telegram_message_id
    assert row.status is NoticeStatus.SENT and row.attempts == 1 and row.sent_at == NOW
    [sent] = chat.telegram.sent
    assert "Yoga &amp; &lt;tea&gt;" in (sent.text or "")


async def test_a_sent_notice_is_never_sent_again_by_a_retried_activity(chat: Delivery) -> None:
    first = await chat.activities.deliver(chat.request("reminder_1h"))
    again = await chat.activities.deliver(chat.request("reminder_1h"))

    assert again == first
    assert len(chat.telegram.sent) == 1
    assert (await chat.row("reminder_1h")).attempts == 1


async def test_a_send_the_database_failed_to_record_is_recorded_by_the_retry_not_sent_again(
    chat: Delivery,
) -> None:
    first = ActivityEnvironment()
    beats: list[tuple[object, ...]] = []
    first.on_heartbeat = lambda *details: beats.append(details)
    async with refusing_sent(chat.sessions):
        with pytest.raises(ApplicationError, match="sent as message 1, not recorded"):
            await first.run(chat.activities.deliver, chat.request("reminder_1h"))
    [sent] = chat.telegram.sent
    assert beats == [(sent.message_id,)]  # heartbeated the moment Telegram accepted it
    assert (await chat.row("reminder_1h")).status is NoticeStatus.PROCESSING

    retry = ActivityEnvironment()  # the next attempt, given the last heartbeat's details
    retry.info = dataclasses.replace(first.info, attempt=2, heartbeat_details=beats[-1])
    outcome = await retry.run(chat.activities.deliver, chat.request("reminder_1h"))

    row = await chat.row("reminder_1h")
    assert outcome == DeliveryOutcome(NoticeStatus.SENT, message_id=sent.message_id)
    assert len(chat.telegram.sent) == 1  # not sent again
    assert (row.status, row.telegram_message_id, row.attempts) == (
        NoticeStatus.SENT,
        sent.message_id,
        1,
    )


async def test_a_retry_after_a_recorded_send_leaves_the_row_and_its_events_as_they_are(
    chat: Delivery,
) -> None:
    first = await chat.activities.deliver(chat.request("reminder_1h"))
    events = await chat.event_count()
    retry = ActivityEnvironment()  # the first attempt recorded SENT, then failed after
    retry.info = dataclasses.replace(retry.info, attempt=2, heartbeat_details=[first.message_id])

    assert await retry.run(chat.activities.deliver, chat.request("reminder_1h")) == first
    assert await chat.event_count() == events and len(chat.telegram.sent) == 1


@pytest.mark.parametrize(
    ("chat_id", "reason"),
    [(403, "bot was blocked by the user"), (400, "chat not found")],
)
async def test_an_unreachable_chat_fails_after_one_attempt(
    db_url: str, telegram: FakeTelegram, chat_id: int, reason: str
) -> None:
    async for d in make_delivery(db_url, telegram, chat_id):
        outcome = await d.activities.deliver(d.request("reminder_1h"))
        row = await d.row("reminder_1h")

    assert outcome.status is NoticeStatus.FAILED and reason in (outcome.reason or "")
    assert row.status is NoticeStatus.FAILED and row.attempts == 1
    assert reason in (row.last_error or "")
    assert len(telegram.requests) == 1


async def test_a_429_asks_temporal_to_retry_after_exactly_retry_after(chat: Delivery) -> None:
    await chat.activities.deliver(chat.request("reminder_1h"))
    with pytest.raises(ApplicationError) as raised:
        await chat.activities.deliver(chat.request("start"))  # same chat within the second

    assert raised.value.type == "RateLimited" and not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=1)
    assert raised.value.category is ApplicationErrorCategory.BENIGN  # expected: no traceback
    row = await chat.row("start")
    assert row.status is NoticeStatus.PROCESSING and "retry after 1" in (row.last_error or "")


async def test_a_telegram_outage_is_retried_by_the_policy(chat: Delivery) -> None:
    chat.telegram.fail_for(30)
    with pytest.raises(ApplicationError) as raised:
        await chat.activities.deliver(chat.request("reminder_1h"))

    assert raised.value.type == "Unavailable" and not raised.value.non_retryable
    assert raised.value.next_retry_delay is None
    assert raised.value.category is ApplicationErrorCategory.BENIGN
    chat.telegram.fail_all_until = None
    outcome = await chat.activities.deliver(chat.request("reminder_1h"))
    assert outcome.status is NoticeStatus.SENT
    assert (await chat.row("reminder_1h")).attempts == 2


@pytest.mark.parametrize(
    ("breakage", "says"),
    [("revoked token", "401 Unauthorized"), ("proxy page at the Bot API's URL", "answered 404")],
)
async def test_a_refused_bot_keeps_the_notice_and_retries_it_only_every_few_minutes(
    chat: Delivery, breakage: str, says: str
) -> None:
    if breakage == "revoked token":
        chat.telegram.token = "123456:REVOKED"
    else:
        chat.telegram.impostor = ProxyReply()
    with pytest.raises(ApplicationError) as raised:
        await chat.activities.deliver(chat.request("reminder_1h"))

    assert raised.value.type == "Misconfigured" and not raised.value.non_retryable
    assert raised.value.next_retry_delay == notices.MISCONFIGURED_RETRY == timedelta(minutes=5)
    assert raised.value.category is ApplicationErrorCategory.BENIGN
    assert raised.value.__cause__ is None and says in raised.value.message
    row = await chat.row("reminder_1h")
    assert row.status is NoticeStatus.PROCESSING and says in (row.last_error or "")
    assert "/bot" not in (row.last_error or "") and chat.telegram.sent == []


async def test_a_send_that_fails_in_a_way_nobody_expected_still_records_why(
    db_url: str, telegram: FakeTelegram
) -> None:
    async for d in make_delivery(db_url, telegram, 1001):
        d.activities._channel = Broken()
        with pytest.raises(RuntimeError):
            await d.activities.deliver(d.request("reminder_1h"))
        row = await d.row("reminder_1h")

    assert row.status is NoticeStatus.PROCESSING
    assert row.last_error == "unexpected RuntimeError while sending"


class Broken(ConsoleChannel):
    """A channel that breaks its contract (only DeliveryError may leave it)."""

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int:
        raise RuntimeError("a bug")


async def test_a_notice_to_a_group_upgraded_to_a_supergroup_goes_there_and_so_do_later_ones(
    db_url: str, telegram: FakeTelegram
) -> None:
    supergroup = upgraded_to_a_supergroup(telegram, -4242)
    async for d in make_delivery(db_url, telegram, -4242):
        first, later = await d.deliver_each("reminder_1h", "start")
        chats = await d.chat_ids()

    assert first.status is later.status is NoticeStatus.SENT
    assert [r.message_id for r in telegram.sent_to(supergroup)] == [1, 2]
    assert telegram.count(400) == 1  # the later notice went straight to the supergroup
    assert chats == {supergroup: 1}


async def test_a_supergroup_that_already_has_a_user_row_takes_the_migrated_users_bookings(
    db_url: str, telegram: FakeTelegram
) -> None:
    """users.chat_id is unique: the row that has the chat wins, and no row is deleted."""
    supergroup = upgraded_to_a_supergroup(telegram, -4242)
    async for d in make_delivery(db_url, telegram, -4242):
        async with d.sessions() as session:
            session.add(User(chat_id=supergroup, language="ru"))
            await session.commit()
        first, later = await d.deliver_each("reminder_1h", "start")
        chats = await d.chat_ids()

    assert first.status is later.status is NoticeStatus.SENT
    reminder, start = telegram.sent_to(supergroup)
    assert "Reminder" in (reminder.text or "")  # rendered before Telegram told of the move
    assert "начинается сейчас" in (start.text or "")  # the supergroup's user: their language
    assert chats == {-4242: 0, supergroup: 1}


async def test_a_reminder_for_a_booking_cancelled_in_sql_is_skipped(chat: Delivery) -> None:
    await chat.change_booking(cancelled_at=NOW)

    outcome = await chat.activities.deliver(chat.request("reminder_1h"))

    assert outcome.status is NoticeStatus.SKIPPED and outcome.reason == "booking cancelled"
    assert chat.telegram.requests == []


async def test_a_reminder_for_a_booking_moved_in_sql_is_skipped(chat: Delivery) -> None:
    await chat.change_booking(starts_at=START + timedelta(hours=2))

    outcome = await chat.activities.deliver(chat.request("reminder_1h"))

    assert outcome.status is NoticeStatus.SKIPPED and outcome.reason == "booking moved"
    assert (await chat.row("reminder_1h")).status is NoticeStatus.SKIPPED
    assert chat.telegram.requests == []


async def test_a_reminder_past_its_latest_moment_at_send_time_is_skipped(chat: Delivery) -> None:
    chat.activities._clock = lambda: START + timedelta(seconds=1)

    outcome = await chat.activities.deliver(chat.request("reminder_1h"))

    assert outcome.status is NoticeStatus.SKIPPED and "too late" in (outcome.reason or "")
    assert chat.telegram.requests == []


async def test_the_mirror_never_undoes_a_sent_notice(chat: Delivery) -> None:
    await chat.activities.deliver(chat.request("reminder_1h"))
    stale_view = chat.notices["reminder_1h"]
    stale_view.status = NoticeStatus.CANCELLED

    await chat.activities.mirror(MirrorRequest(chat.booking_id, [stale_view]))

    assert (await chat.row("reminder_1h")).status is NoticeStatus.SENT


async def test_a_slow_delivery_heartbeats_and_a_fast_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Heartbeats tell a dead worker from a slow one; a quick send costs no heartbeat call."""
    monkeypatch.setattr(heartbeats, "HEARTBEAT_EVERY", 0.05)
    beats: list[object] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)

    fast = await env.run(heartbeating, asyncio.sleep(0.01, result="fast"))
    fast_beats = len(beats)
    slow = await env.run(heartbeating, asyncio.sleep(0.32, result="slow"))

    assert (fast, fast_beats) == ("fast", 0)
    assert slow == "slow" and 4 <= len(beats) <= 7


async def test_a_cancelled_delivery_stops_its_work() -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            stopped.set()
            raise

    delivery = asyncio.ensure_future(heartbeating(send()))
    await started.wait()
    delivery.cancel()
    with pytest.raises(asyncio.CancelledError):
        await delivery
    await asyncio.wait_for(stopped.wait(), timeout=1)
