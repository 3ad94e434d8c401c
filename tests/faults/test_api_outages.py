"""The API's answers while a dependency is down, under a live ``BookingNotifier`` and a worker.

Temporal: the dev server (persistent file) is SIGKILLed while the notifier is open, every call is
made while it is down, and then it is restarted. PostgreSQL: the test's own cluster crashes while
the notifier and the worker run, every call is made, then it comes back and the caller retries
what raised. Once the bookings' moments have passed, each answer is held against what happened:

- a call that returned is carried out exactly once;
- a call that raised raised our one-line error (never the SDK's or the driver's text) and left
  nothing behind; the caller's retry, with and without ``ref``, does not duplicate anything;
- a cancel that returned is honoured: its owner gets the cancellation and not a single reminder.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from booking_notifications.api import (
    CancelResult,
    DatabaseUnavailable,
    TemporalUnavailable,
)
from booking_notifications.api.temporal import CORE_LOGGER
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.models import Booking
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import report, status_counts
from tests.faults.processes import PostgresCluster, TemporalDevServer
from tests.faults.scene import FaultScene, fault_scene, start_notice_only, stopped_cleanly
from tests.support.processes import Children
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow]

LEAD = timedelta(seconds=50)
"""When the start notices are due: after the outage, the restart and the worker's reconnect."""
MOVED_BY = timedelta(seconds=20)
SDK_TEXT = ("tonic", "tcp connect error", "RPCError", "sdk_core", "asyncpg", "sqlalchemy")
"""Words of the SDK's and the drivers' own errors that booking code must never see."""
CHATS = 660_000
SENT = NoticeStatus.SENT


async def _settled(scene: FaultScene) -> bool:
    """Whether every notice row has its final status: none PENDING or PROCESSING."""
    counts = await status_counts(scene.stack.sessions)
    return (
        sum(counts.values()) > 0
        and not counts[NoticeStatus.PENDING] + counts[NoticeStatus.PROCESSING]
    )


def _kinds(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [(m.text or "")[:1] for m in telegram.sent_to(chat_id)]


def _ours(err: BaseException) -> str:
    """The error's one line, checked to carry none of the SDK's or the driver's words."""
    text = str(err)
    assert "\n" not in text and not any(w in text for w in SDK_TEXT), text
    return text


@pytest.mark.backends("sqlite")
@pytest.mark.timeout(300)
async def test_every_call_under_a_live_notifier_tells_the_truth_while_temporal_is_down(
    db_url: str,
    task_queue: str,
    paced_telegram: FakeTelegram,
    children: Children,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=CORE_LOGGER)
    server = TemporalDevServer(children, tmp_path / "temporal")
    env = await server.started()
    chat = iter(range(CHATS, CHATS + 100))
    try:
        async with fault_scene(env, db_url, task_queue, children, paced_telegram.url) as scene:
            worker = await scene.start_worker()
            n = scene.stack.notifier
            now = datetime.now(UTC)
            first = [start_notice_only(LEAD, now=now, chat_id=next(chat)) for _ in range(3)]
            cancelled, cancelled_in_session, moved = await n.schedule_many(first)
            await server.kill()

            async def cancel_in_session() -> CancelResult:
                async with scene.stack.sessions() as session, session.begin():
                    return await n.cancel(cancelled_in_session, session=session)

            later = [start_notice_only(LEAD, now=now, chat_id=next(chat)) for _ in range(3)]
            asked = time.monotonic()
            answers = await asyncio.gather(
                n.schedule(later[0]),
                n.schedule_many(later[1:]),
                n.cancel(cancelled, reason="rain"),
                cancel_in_session(),
                n.reschedule(moved, now + LEAD + MOVED_BY, now + LEAD + 2 * MOVED_BY),
                n.live_plan(moved),
                return_exceptions=True,
            )
            answered_s = time.monotonic() - asked
            one, many, cancel, cancel_s, move, plan = answers
            assert isinstance(one, int) and isinstance(many, list) and len(many) == 2, answers
            status = await n.status(cancelled)
            listed = await n.list_notices(chat_id=first[0].chat_id)
            await server.start()
            restarted = time.monotonic()
            await n.flush()
            followed_s = time.monotonic() - restarted
            retried_move = await n.reschedule(
                moved, now + LEAD + MOVED_BY, now + LEAD + 2 * MOVED_BY
            )
            scene.workflow_ids += [n.workflow_id(b) for b in (one, *many)]
            await eventually(lambda: _settled(scene), within=LEAD.total_seconds() + 60)
            await asyncio.sleep(2)  # anything that would come twice comes now
            rows = await scene.rows()
            plan_after = await n.live_plan(moved)
            await stopped_cleanly(worker)
    finally:
        await server.stop()

    out, _ = capfd.readouterr()
    report(
        "temporal-down-under-a-live-notifier",
        f"8 calls answered in {answered_s:.1f} s while Temporal was down (3 bookings accepted, "
        f"2 cancels final, a move and a query refused in one line); the starts and cancel "
        f"signals that waited reached Temporal {followed_s:.1f} s after its restart; every "
        "notice delivered once",
        answered_s=round(answered_s, 2),
        followed_after_restart_s=round(followed_s, 2),
    )
    assert cancel is cancel_s is CancelResult.CANCELLED
    assert isinstance(move, TemporalUnavailable) and isinstance(plan, TemporalUnavailable)
    assert (
        _ours(move)
        == _ours(plan)
        == f"Temporal at {server.address} is unreachable (cannot connect)"
    )
    assert retried_move.starts_at == now + LEAD + MOVED_BY
    # Read while Temporal was down: the cancel is committed; the rows follow once the workflow
    # hears of it (only the workflow's activities write notice rows).
    assert status.cancelled_at is not None
    assert [(v.key, v.status) for v in listed] == [("start", NoticeStatus.PENDING)]
    for request in later:
        assert _kinds(paced_telegram, request.chat_id) == ["▶"]  # type: ignore[arg-type]
    for request in first[:2]:
        assert _kinds(paced_telegram, request.chat_id) == ["❌"]  # type: ignore[arg-type]
    assert _kinds(paced_telegram, first[2].chat_id) == ["📅", "▶"], (  # type: ignore[arg-type]
        [r for r in rows if r.booking_id == moved],
        plan_after,
    )
    assert sorted((r.booking_id, r.key, r.status) for r in rows if r.status is not SENT) == [
        (cancelled, "start", NoticeStatus.CANCELLED),
        (cancelled_in_session, "start", NoticeStatus.CANCELLED),
    ]
    # The SDK core's warnings went through logging, none of them to stdout.
    assert not any(w in out for w in SDK_TEXT), out[-2000:]
    assert any(r.name.startswith(CORE_LOGGER) for r in caplog.records)


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_every_call_under_a_live_notifier_tells_the_truth_while_postgres_is_down(
    own_postgres: PostgresCluster, postgres_scene: FaultScene, paced_telegram: FakeTelegram
) -> None:
    cluster, scene = own_postgres, postgres_scene
    chat = iter(range(CHATS + 100, CHATS + 200))
    worker = await scene.start_worker()
    n = scene.stack.notifier
    now = datetime.now(UTC)
    kept = start_notice_only(LEAD, now=now, chat_id=next(chat))
    (cancelled,) = await n.schedule_many([kept])
    await cluster.crash()

    with_ref = replace(start_notice_only(LEAD, now=now, chat_id=next(chat)), ref="order-1")
    without_ref = start_notice_only(LEAD, now=now, chat_id=next(chat))
    batch = [start_notice_only(LEAD, now=now, chat_id=next(chat)) for _ in range(2)]

    async def cancel_in_session() -> CancelResult:
        async with scene.stack.sessions() as session, session.begin():
            return await n.cancel(cancelled, session=session)

    asked = time.monotonic()
    answers = await asyncio.gather(
        n.schedule(with_ref),
        n.schedule(without_ref),
        n.schedule_many(batch),
        n.cancel(cancelled),
        cancel_in_session(),
        n.reschedule(cancelled, now + 2 * LEAD, now + 3 * LEAD),
        n.status(cancelled),
        n.list_notices(),
        return_exceptions=True,
    )
    answered_s = time.monotonic() - asked
    await cluster.start()
    retried = [
        await n.schedule(with_ref),
        await n.schedule(with_ref),  # a second retry with the ref: the same booking
        await n.schedule(without_ref),
        *(await n.schedule_many(batch)),
    ]
    retried_cancel = await n.cancel(cancelled)
    scene.workflow_ids += [n.workflow_id(b) for b in retried]
    await eventually(lambda: _settled(scene), within=LEAD.total_seconds() + 60)
    await asyncio.sleep(2)
    async with scene.stack.sessions() as session:
        bookings = await session.scalar(select(func.count()).select_from(Booking))
    await stopped_cleanly(worker)

    report(
        "postgres-down-under-a-live-notifier",
        f"{len(answers)} calls refused in {answered_s:.2f} s while PostgreSQL was down, "
        "nothing written; the retries (with and without ref) scheduled each booking once",
        answered_s=round(answered_s, 3),
    )
    down = f"the database at 127.0.0.1:{cluster.port} is unreachable (connection refused)"
    assert all(isinstance(a, DatabaseUnavailable) for a in answers), answers
    assert {_ours(a) for a in answers} == {down}  # type: ignore[arg-type]
    assert retried[0] == retried[1] and len(set(retried)) == 4
    assert retried_cancel is CancelResult.CANCELLED
    assert bookings == 5  # the one before the crash and the four retried: nothing half-written
    assert _kinds(paced_telegram, kept.chat_id) == ["❌"]  # type: ignore[arg-type]
    for request in (with_ref, without_ref, *batch):
        assert _kinds(paced_telegram, request.chat_id) == ["▶"]  # type: ignore[arg-type]
