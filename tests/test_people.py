"""The people a booking notifies, through the API: connect links, notices that wait for a user
to connect, what a user mutes, confirmations. On the time-skipping server with the real worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import (
    BookingNotifier,
    ConfirmResult,
    InvalidBooking,
    LinkRefused,
    Topic,
)
from booking_notifications.api.users import LinkProblem
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import LinkToken, User
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import booking
from tests.support.stack import Stack, booking_stack, frozen_stack, telegram_channel
from tests.support.waiting import eventually

H = timedelta(hours=1)
BOT = "booking_test_bot"
SENT, SKIPPED, PENDING = NoticeStatus.SENT, NoticeStatus.SKIPPED, NoticeStatus.PENDING


def _with_bot(stack: Stack) -> BookingNotifier:
    """The stack's notifier, naming the bot in links (as ``from_settings`` does with getMe)."""
    stack.notifier.people.bot_username = BOT
    return stack.notifier


def _token(link: str) -> str:
    prefix = f"https://t.me/{BOT}?start="
    assert link.startswith(prefix)
    return link.removeprefix(prefix)


async def test_a_link_is_a_single_use_deep_link_kept_only_as_a_digest(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        notifier = _with_bot(s)
        first, second = (
            await notifier.people.link("customer-1"),
            await notifier.people.link("customer-1"),
        )
        token = _token(first)
        async with s.sessions() as session:
            stored = [
                row[0] for row in (await session.execute(text("SELECT * FROM bn_link_tokens")))
            ]
            columns = [
                str(value)
                for row in (await session.execute(text("SELECT * FROM bn_link_tokens"))).all()
                for value in row
            ]
        connected = await notifier.people.connect(token, chat_id=501, telegram_user_id=501)
        with pytest.raises(LinkRefused) as used:
            await notifier.people.connect(token, chat_id=502, telegram_user_id=502)
        with pytest.raises(LinkRefused) as unknown:
            await notifier.people.connect("x" * 32, chat_id=502, telegram_user_id=502)
        async with s.sessions() as session:
            user = await session.scalar(select(User).where(User.ref == "customer-1"))

    assert first != second and len(token) == 32
    assert len(stored) == 2 and not any(token in value for value in columns)
    assert connected.user_ref == "customer-1"
    assert (used.value.reason, unknown.value.reason) == (LinkProblem.USED, LinkProblem.UNKNOWN)
    assert user is not None and (user.chat_id, user.telegram_user_id) == (501, 501)


async def test_an_expired_link_binds_nothing(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    now = await time_env.get_current_time()
    clock = [now]
    channel = telegram_channel(telegram)
    async with booking_stack(time_env, db_url, task_queue, channel, clock=lambda: clock[0]) as s:
        link = await _with_bot(s).people.link("customer-2", valid_for=timedelta(minutes=10))
        clock[0] = now + timedelta(minutes=11)
        with pytest.raises(LinkRefused) as expired:
            await s.notifier.people.connect(_token(link), chat_id=601, telegram_user_id=601)
        async with s.sessions() as session:
            user = await session.scalar(select(User).where(User.ref == "customer-2"))
            unused = await session.scalar(select(LinkToken.used_at))

    assert expired.value.reason is LinkProblem.EXPIRED
    assert user is not None and user.chat_id is None and unused is None


@pytest.mark.parametrize(
    ("user_ref", "valid_for", "message"),
    [
        ("", timedelta(hours=1), "user_ref must be 1 to 128 characters"),
        ("a\nb", timedelta(hours=1), "contains the control character"),
        ("c-1", timedelta(seconds=5), "valid_for 0:00:05 must be from 1 minute to 30 days"),
        ("c-1", timedelta(days=31), "must be from 1 minute to 30 days"),
    ],
)
async def test_a_bad_link_request_is_refused_and_writes_nothing(
    time_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    user_ref: str,
    valid_for: timedelta,
    message: str,
) -> None:
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        with pytest.raises(InvalidBooking, match=message):
            await _with_bot(s).people.link(user_ref, valid_for=valid_for)
        async with s.sessions() as session:
            users = (await session.scalars(select(User))).all()

    assert users == []


async def test_notices_wait_for_their_user_and_go_out_as_soon_as_they_connect(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        notifier = _with_bot(s)
        booking_id = await notifier.schedule(
            booking(30 * H, now=now, chat_id=None, user_ref="late-joiner", title="Court 9")
        )
        await time_env.sleep(6 * H + 10 * timedelta(minutes=1))  # the 24 h reminder is due
        waiting = (await s.rows(booking_id))["reminder_24h"]
        sent_before = len(telegram.sent)
        await notifier.people.connect(
            _token(await notifier.people.link("late-joiner")), chat_id=777, telegram_user_id=777
        )
        await eventually(lambda: _sent(s, booking_id, "reminder_24h"))
        await time_env.sleep(24 * H)
        report = await s.result(booking_id)

    assert waiting.status is PENDING and "waiting for the user" in (waiting.last_error or "")
    assert sent_before == 0
    assert [r.chat_id for r in telegram.sent][:1] == [777]
    assert {n.key: n.status for n in report.notices} == {
        "reminder_24h": SENT,
        "reminder_1h": SENT,
        "start": SENT,
        "end": SENT,
    }


async def test_a_cancellation_made_before_the_user_connects_reaches_them_when_they_do(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """Found by the ordering test: connecting only woke the bookings not cancelled, so the
    cancellation that waited for the user was skipped at its latest moment instead."""
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        notifier = _with_bot(s)
        booking_id = await notifier.schedule(
            booking(30 * H, now=now, chat_id=None, user_ref="late", title="Court 4")
        )
        await notifier.cancel(booking_id, reason="rain")
        await eventually(lambda: _waits_for_the_user(s, booking_id, "cancel"))
        await notifier.people.connect(
            _token(await notifier.people.link("late")), chat_id=778, telegram_user_id=1
        )
        report = await s.result(booking_id)

    assert [n.status for n in report.notices if n.kind == "cancel"] == [SENT]
    assert [m.chat_id for m in telegram.sent] == [778]
    assert "Court 4" in (telegram.sent[0].text or "") and "rain" in (telegram.sent[0].text or "")


async def _waits_for_the_user(stack: Stack, booking_id: int, key: str) -> bool:
    row = (await stack.rows(booking_id)).get(key)
    return row is not None and "waiting for the user" in (row.last_error or "")


async def test_a_notice_whose_user_never_connects_is_skipped_at_its_latest_moment(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        booking_id = await s.notifier.schedule(
            booking(30 * H, now=now, chat_id=None, user_ref="never", reminders=[24 * H])
        )
        report = await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert {n.key: n.status for n in report.notices} == {
        "reminder_24h": SKIPPED,
        "start": SKIPPED,
        "end": SKIPPED,
    }
    assert {row.last_error for row in rows.values()} == {"user not connected"}
    assert telegram.sent == []


async def test_a_muted_topic_is_skipped_and_the_rest_is_sent(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, _ = await s.book(30 * H, chat_id=888)
    muted = await s.notifier.people.set_muted([Topic.HOUR_REMINDERS, Topic.END], chat_id=888)
    read_back = await s.notifier.people.muted(chat_id=888)
    report = await s.result(booking_id)
    rows = await s.rows(booking_id)

    assert muted == read_back == {Topic.HOUR_REMINDERS, Topic.END}
    assert {n.key: n.status for n in report.notices} == {
        "reminder_24h": SENT,
        "reminder_1h": SKIPPED,
        "start": SENT,
        "end": SKIPPED,
    }
    assert rows["reminder_1h"].last_error == "muted by the user"
    assert len(telegram.sent) == 2


async def test_confirming_is_recorded_once_and_shown_in_the_status(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with frozen_stack(time_env, db_url, task_queue, telegram) as (s, now):
        booking_id = await s.notifier.schedule(booking(30 * H, now=now, chat_id=999))
        results = [
            await s.notifier.people.confirm(booking_id),
            await s.notifier.people.confirm(booking_id),
        ]
        view = await s.notifier.status(booking_id)
        await s.notifier.cancel(booking_id, by="user")
        after_cancel = await s.notifier.people.confirm(booking_id)
        cancelled = await s.notifier.status(booking_id)
        await s.result(booking_id)

    assert results == [ConfirmResult.CONFIRMED, ConfirmResult.ALREADY_CONFIRMED]
    assert view.confirmed_at == now
    assert after_cancel is ConfirmResult.CANCELLED
    assert cancelled.cancelled_by == "user"


async def test_preferences_name_the_user_one_way_and_refuse_an_unknown_one(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        with pytest.raises(InvalidBooking, match="by user_ref or by chat_id, one of the two"):
            await s.notifier.people.muted()
        with pytest.raises(LookupError, match="no user nobody"):
            await s.notifier.people.muted(user_ref="nobody")


async def _sent(stack: Stack, booking_id: int, key: str) -> bool:
    return (await stack.rows(booking_id))[key].status is SENT


async def test_a_user_known_by_chat_id_who_connects_under_a_key_becomes_one_user(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """Booking code first scheduled by chat id, then gave the person a link for its own key."""
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        first = await s.notifier.schedule(booking(30 * H, now=now, chat_id=321, language="ru"))
        notifier = _with_bot(s)
        await notifier.people.connect(
            _token(await notifier.people.link("customer-3")), chat_id=321, telegram_user_id=321
        )
        view = await s.notifier.status(first)
        async with s.sessions() as session:
            users = (await session.scalars(select(User))).all()
        await s.terminate([first])

    assert [(u.ref, u.chat_id, u.language) for u in users] == [("customer-3", 321, "ru")]
    assert view.user_ref == "customer-3"


@pytest.mark.parametrize("by", ["", "a user with spaces", "x" * 17, "user\x00"])
async def test_who_cancelled_is_a_short_word(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram, by: str
) -> None:
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        booking_id = await s.notifier.schedule(booking(30 * H, now=now))
        with pytest.raises(InvalidBooking, match="by must be a short word"):
            await s.notifier.cancel(booking_id, by=by)
        view = await s.notifier.status(booking_id)
        await s.terminate([booking_id])

    assert view.cancelled_at is None


def test_the_people_methods_are_notifier_people_s_and_the_old_names_warn() -> None:
    notifier = BookingNotifier(None, None, "q", bot_username=BOT)  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match=r"use notifier\.people\.link"):
        old = notifier.link  # type: ignore[attr-defined]
    assert old == notifier.people.link
    with pytest.raises(AttributeError, match="no attribute 'linc'"):
        notifier.linc  # type: ignore[attr-defined]  # noqa: B018
