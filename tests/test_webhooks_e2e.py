"""Events through the webhook on Temporal: the relay workflow on the dev server, the real worker,
the real bot, a real receiver. A receiver that is away for 30 s gets everything afterwards; a
person's cancel in Telegram reaches it as ``booking.cancelled`` by the user."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.db.events import EventType, emit
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.settings import Settings
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import (
    ensure_events_relay,
    events_relay_id,
    running_workers,
)
from booking_notifications.workflows.events import RELAY_HEARTBEAT_TIMEOUT
from tests.support.bookings import booking
from tests.support.bot_world import BOB, CANCEL, YES, connect, world
from tests.support.receiver import SECRET, Receiver
from tests.support.stack import settings_for
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

AWAY = 30.0
"""Seconds the receiver is away: refusing connections for the first half, answering 503 after."""


def webhook(receiver: Receiver) -> dict[str, object]:
    """The settings (by field name) that send events to ``receiver``."""
    return {"events_webhook_url": receiver.url, "events_webhook_secret": SecretStr(SECRET)}


def webhook_settings(db_url: str, task_queue: str, receiver: Receiver) -> Settings:
    return settings_for(db_url, task_queue).model_copy(update=webhook(receiver))


@asynccontextmanager
async def relaying(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    """The events relay workflow of this deployment, terminated at the end (the dev server is
    shared by the session)."""
    await ensure_events_relay(env.client, settings)
    try:
        yield
    finally:
        with contextlib.suppress(RPCError):
            await env.client.get_workflow_handle(events_relay_id(settings)).terminate("test over")


async def test_a_receiver_away_for_30_s_then_back_gets_every_event_in_order_with_its_id(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # away: connections refused, on a port it will come back to
    settings = webhook_settings(db_url, task_queue, receiver)
    engine = make_engine(db_url)
    notifier = BookingNotifier(
        dev_env.client, make_sessions(engine), task_queue, id_prefix=settings.workflow_id_prefix
    )
    telegram = FakeTelegram(per_chat_rate=None, global_rate=None)
    async with (
        telegram,
        running_workers(dev_env.client, settings, TelegramChannel(telegram.token, telegram.url)),
        relaying(dev_env, settings),
    ):
        now = datetime.now(UTC)
        booked = [
            await notifier.schedule(
                booking(timedelta(seconds=2 + n), timedelta(seconds=4), now=now, chat_id=9100 + n)
            )
            for n in range(3)
        ]
        await notifier.cancel(booked[1], reason="rain")
        await asyncio.sleep(AWAY / 2)
        receiver.status = 503
        await receiver.start()
        await asyncio.sleep(AWAY / 2)
        refused = len(receiver.arrivals)
        receiver.status = 204
        await eventually(lambda: _all_delivered(notifier), within=90)
        events = await notifier.events(after=0, limit=1000)
        await notifier.close()
        await engine.dispose()
        await receiver.stop()

    assert refused > 0 and all(a.answered == 503 for a in receiver.arrivals[:refused])
    assert all(arrival.verified for arrival in receiver.arrivals)
    delivered = receiver.delivered
    assert sorted(e["seq"] for e in delivered) == [e.seq for e in events]  # each once
    for booking_id in booked:
        seqs = [e["seq"] for e in delivered if e["booking_id"] == booking_id]
        assert seqs == sorted(seqs) and seqs, booking_id
    ids = {e.seq: e.id for e in events}
    assert all(a.headers["webhook-id"] == ids[a.event["seq"]] for a in receiver.arrivals)
    retried = {a.headers["webhook-id"] for a in receiver.arrivals[:refused]}
    assert retried <= {e["id"] for e in delivered}  # what was refused came again, same id
    types = {e["type"] for e in delivered}
    assert {"notice.skipped", "notice.sent", "booking.cancelled"} <= types
    assert any(e.attempts > 1 for e in events)


@pytest.mark.backends("sqlite")
async def test_a_round_longer_than_the_heartbeat_timeout_keeps_one_relay(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    """64 events in as many bookings, the receiver taking 3 s over each and the relay sending
    8 at a time: a round takes 24 s, past the relay's 20 s heartbeat timeout. The relay beats
    through it, so Temporal starts no second relay beside it: each event arrives once."""
    receiver = Receiver(delay=3.0)
    await receiver.start()
    settings = webhook_settings(db_url, task_queue, receiver)
    engine = make_engine(db_url)
    sessions = make_sessions(engine)
    async with sessions() as session:
        for booking_id in range(1, 65):
            emit(session, EventType.NOTICE_SENT, at=datetime.now(UTC), booking_id=booking_id)
        await session.commit()
    telegram = FakeTelegram(per_chat_rate=None, global_rate=None)
    async with (
        telegram,
        running_workers(dev_env.client, settings, TelegramChannel(telegram.token, telegram.url)),
        relaying(dev_env, settings),
    ):
        await receiver.wait_for(64, within=90)
        await asyncio.sleep(RELAY_HEARTBEAT_TIMEOUT.total_seconds() / 4)  # a second relay's turn
        relay = await dev_env.client.get_workflow_handle(events_relay_id(settings)).describe()
    await engine.dispose()
    await receiver.stop()

    arrived = [a.headers["webhook-id"] for a in receiver.arrivals]
    assert len(arrived) == len(set(arrived)) == 64
    assert [a.attempt for a in relay.raw_description.pending_activities] == [1]


async def _all_delivered(notifier: BookingNotifier) -> bool:
    events = await notifier.events(after=0, limit=1000)
    return bool(events) and all(e.delivered_at is not None for e in events) and len(events) >= 9


@pytest.mark.backends("sqlite")
async def test_a_cancel_tapped_in_telegram_reaches_the_receiver_as_cancelled_by_the_user(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    async with (
        FakeTelegram(per_chat_rate=None, global_rate=None) as fake,
        Receiver() as receiver,
        world(dev_env, db_url, task_queue, fake, **webhook(receiver)) as w,
        relaying(dev_env, w.settings),
    ):
        await connect(w, BOB, "bob")
        booking_id = await w.book("bob", 8, "--reminders", "5s")
        reminder = await w.message_with(BOB.id, "⏰")
        await w.tap(reminder, CANCEL, BOB)
        await w.tap(w.fake.message(BOB.id, reminder.message_id), YES, BOB)
        await eventually(lambda: _has(receiver, "booking.cancelled"), within=30)

    cancelled = [e for e in receiver.delivered if e["type"] == "booking.cancelled"]
    assert [(e["booking_id"], e["user_ref"], e["data"]["by"]) for e in cancelled] == [
        (booking_id, "bob", "user")
    ]
    assert [e["user_ref"] for e in receiver.delivered if e["type"] == "user.connected"] == ["bob"]
    assert all(arrival.verified for arrival in receiver.arrivals)


async def _has(receiver: Receiver, type: str) -> bool:
    return any(e["type"] == type for e in receiver.delivered)
