"""The shared pacer: sends of several worker processes take turns at one rate, on both databases.

Each "process" here is an engine of its own with a ``SharedPacer`` of the same name, as three
worker processes on one deployment have: nothing is shared between them but the database. Their
sends go through aiogram to the fake Bot API, which answers more than 30 messages in a sliding
second with 429 as Telegram does; without the pacer the same burst is refused by the dozen.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence

import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from booking_notifications.activities.pacing import PacedChannel, PacedEditor, paced
from booking_notifications.channels import BotIdentity, Channel, Keyboard, RateLimited, Unavailable
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.db.models import Pacer
from booking_notifications.db.pacer import MARGIN, Ahead, SharedPacer
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import busiest_second

PROCESSES = 3
IN_FLIGHT = 4
"""Sends in flight per process (``DELIVERY_CONCURRENCY``'s default)."""
CAP = 30
CHATS = 7_300_000


@pytest_asyncio.fixture
async def processes(db_url: str) -> AsyncIterator[list[Sessions]]:
    """The session factories of three processes: one engine (and pool) each."""
    engines = [make_engine(db_url) for _ in range(PROCESSES)]
    try:
        yield [make_sessions(engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


async def burst(channels: Sequence[Channel], messages: int) -> tuple[list[float], int]:
    """``messages`` sends due at once, shared by ``channels`` with ``IN_FLIGHT`` each: the
    moment each send was accepted, and how many were refused with 429."""
    todo = iter(range(messages))
    accepted: list[float] = []
    refused = 0

    async def sender(channel: Channel) -> None:
        nonlocal refused
        for n in todo:
            try:
                await channel.send(CHATS + n, f"⏰ Court {n} starts in 1 hour")
            except RateLimited:
                refused += 1
            else:
                accepted.append(time.monotonic())

    await asyncio.gather(*(sender(c) for c in channels for _ in range(IN_FLIGHT)))
    return accepted, refused


async def test_three_processes_send_a_burst_at_the_cap_without_a_429(
    processes: list[Sessions],
) -> None:
    async with FakeTelegram(global_rate=CAP, per_chat_rate=1) as fake:
        raw = [TelegramChannel(fake.token, fake.url) for _ in processes]
        try:
            _, unpaced_refused = await burst(raw, 3 * CAP)
            await asyncio.sleep(1.1)  # the window starts empty again
            pacers = [SharedPacer(sessions, "tq-pacer", CAP) for sessions in processes]
            channels = [paced(c, p) for c, p in zip(raw, pacers, strict=True)]
            accepted, refused = await burst(channels, 3 * CAP)
        finally:
            for channel in raw:
                await channel.close()

    assert unpaced_refused >= CAP  # the same burst unpaced: Telegram refuses what is over 30
    assert refused == 0 and len(accepted) == 3 * CAP
    assert busiest_second(accepted) <= CAP
    # At the pace, not below it: 90 sends, one interval apart, take 89 intervals.
    drain = max(accepted) - min(accepted)
    assert drain >= (3 * CAP - 1) * (1 + MARGIN) / CAP - 0.05
    assert drain <= (3 * CAP - 1) * (1 + MARGIN) / CAP + 1.0


class Stalling:
    """A channel whose ``stall_at``-th send blocks the event loop for ``seconds`` after it went
    (a long garbage collection, a slow callback): the sends asleep until their slots wake late."""

    def __init__(self, channel: Channel, stall_at: int, seconds: float) -> None:
        self._channel, self._stall_at, self._seconds = channel, stall_at, seconds
        self.sends = 0

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int:
        message_id = await self._channel.send(chat_id, text, keyboard)
        self.sends += 1
        if self.sends == self._stall_at:
            time.sleep(self._seconds)  # noqa: ASYNC251 - the stall is the point
        return message_id

    async def check(self) -> BotIdentity:
        return await self._channel.check()

    async def close(self) -> None:
        await self._channel.close()


async def test_sends_woken_late_by_a_stalled_loop_take_later_slots_instead_of_crowding(
    processes: list[Sessions],
) -> None:
    async with FakeTelegram(global_rate=CAP, per_chat_rate=1) as fake:
        raw = [TelegramChannel(fake.token, fake.url) for _ in processes]
        stalling = Stalling(raw[0], stall_at=5, seconds=0.15)
        channels: list[Channel] = [stalling, *raw[1:]]
        pacers = [SharedPacer(sessions, "tq-stall", CAP) for sessions in processes]
        try:
            accepted, refused = await burst(
                [paced(c, p) for c, p in zip(channels, pacers, strict=True)],
                3 * CAP,
            )
        finally:
            for channel in raw:
                await channel.close()

    assert stalling.sends >= 5  # the loop did stall mid-burst
    # The stall wakes the sends of its 150 ms late at once: sent then, they and the sends one
    # second on make more than 30 in a sliding second, and Telegram refuses the excess.
    assert refused == 0 and len(accepted) == 3 * CAP
    assert busiest_second([r.monotonic for r in fake.requests if r.method == "sendMessage"]) <= CAP


async def test_slots_are_one_interval_apart_whichever_process_takes_them(
    processes: list[Sessions],
) -> None:
    rate = 50.0
    pacers = [SharedPacer(sessions, "tq-slots", rate) for sessions in processes]
    taken = await asyncio.gather(*(p.take_slot() for p in pacers for _ in range(20)))
    slots = sorted(slot for slot, _ in taken)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    interval = (1 + MARGIN) / rate
    # The slots as the database set them: exact but for the rounding of seconds since 1970 in a
    # double (a fraction of a microsecond per slot), not read a round trip late by this loop.
    assert len(set(slots)) == len(slots)
    assert min(gaps) >= interval - 1e-5
    assert slots[-1] - slots[0] >= (len(slots) - 1) * interval - 1e-4
    assert min(wait for _, wait in taken) < 0.001  # the first slot of an idle pacer is now


async def test_a_429_holds_every_process_and_a_slot_too_far_ahead_is_not_taken(
    processes: list[Sessions],
) -> None:
    first, second = (SharedPacer(s, "tq-hold", CAP, max_wait=1.0) for s in processes[:2])
    assert await first.take() == 0.0  # an idle pacer sends at once
    await first.hold(0.6)  # Telegram said retry_after to the first process
    wait = await second.take()
    assert 0.5 <= wait <= 0.6
    await first.hold(3.0)
    with pytest.raises(Ahead) as ahead:
        await second.take()
    assert 2.5 <= ahead.value.wait <= 3.0
    async with processes[0]() as session:  # the refused take moved nothing
        next_at = await session.scalar(select(Pacer.next_at).where(Pacer.name == "tq-hold"))
    assert next_at is not None
    with pytest.raises(Ahead) as again:
        await first.take()
    assert again.value.wait <= ahead.value.wait


async def test_a_pacer_whose_row_went_away_makes_it_again(processes: list[Sessions]) -> None:
    pacer = SharedPacer(processes[0], "tq-again", CAP)
    await pacer.take()
    async with processes[1]() as session:
        await session.execute(delete(Pacer))
        await session.commit()
    assert await pacer.take() == 0.0
    async with processes[1]() as session:
        assert await session.scalar(select(Pacer.name)) == "tq-again"


async def test_the_paced_channel_passes_telegrams_wait_on_and_refuses_without_a_database(
    processes: list[Sessions],
) -> None:
    async with FakeTelegram(global_rate=1, per_chat_rate=None) as fake:
        raw = TelegramChannel(fake.token, fake.url)
        pacer = SharedPacer(processes[0], "tq-wait", 1000.0)
        channel = paced(raw, pacer)
        try:
            await channel.send(CHATS, "one")
            with pytest.raises(RateLimited):
                await channel.send(CHATS + 1, "two")  # Telegram's window is full for 1 s
            assert 0.5 <= await pacer.take() <= 1.0  # so every process waits it out
        finally:
            await raw.close()
    broken = make_sessions(make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    with pytest.raises(Unavailable, match="no send slot"):
        await paced(ConsoleChannel(), SharedPacer(broken, "tq-down", CAP)).send(CHATS, "three")


def test_an_editor_stays_an_editor_when_paced(processes: list[Sessions]) -> None:
    pacer = SharedPacer(processes[0], "tq-edit", CAP)
    assert isinstance(paced(ConsoleChannel(), pacer), PacedEditor)

    class SendOnly:
        async def send(self, chat_id: int, text: str, keyboard: object = ()) -> int:
            return 1

    assert type(paced(SendOnly(), pacer)) is PacedChannel  # type: ignore[arg-type]
