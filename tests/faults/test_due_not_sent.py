"""Reminders that stop going out are seen: the due-but-not-sent gauge, and the alert on it.

The delivery worker (``booking-notify worker`` on the test's task queue) is stopped while
notices come due, then started again. The gauge is counted from SQL by another worker process on
the same database (its own task queue, as a second deployment would run): while nothing
delivers, the notices more than a minute past their due time show up there; once the worker is
back and has sent them, the count drops to 0. The real Prometheus, on the shipped configuration
and rules, fires ``NoticesDueNotSent`` meanwhile, stops firing after, and every panel of the
shipped dashboard returns data from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.service import RPCError

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.observe import due, metrics
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.processes import start_worker
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.processes import Child, Children, free_port
from tests.support.prometheus import (
    CONFIG,
    RULES,
    Prometheus,
    dashboard_queries,
    override,
    prometheus_binary,
)
from tests.support.scrape import scrape
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("sqlite")]

NOTICES = 3
LEAD = timedelta(seconds=3)
CHATS = 670_000
BLOCKED = 679_999
"""One more notice, to a chat that blocked the bot: a Telegram error and a FAILED row for the
dashboard, and one more overdue notice while delivery is stopped."""
LATER = timedelta(seconds=3)
OVERDUE_WITHIN = (due.GRACE + due.EVERY + LEAD).total_seconds() + 30
SENT = NoticeStatus.SENT


@pytest.fixture
def blocked(paced_telegram: FakeTelegram) -> None:
    """Telegram refuses ``BLOCKED``: the chat has blocked the bot."""
    paced_telegram.blocked.add(BLOCKED)


def _address() -> str:
    return f"127.0.0.1:{free_port()}"


async def _start_observer(scene: FaultScene, address: str) -> Child:
    return await start_worker(
        scene.children,
        scene.client,
        db_url=scene.db_url,
        task_queue=f"{scene.stack.task_queue}-observer",
        telegram_url=scene.telegram_url,
        METRICS_ADDRESS=address,
    )


async def _forget_observer(scene: FaultScene) -> None:
    with contextlib.suppress(RPCError):
        await scene.client.get_schedule_handle(
            f"{scene.stack.task_queue}-observer-reconcile"
        ).delete()


def _gauge_is(address: str, wanted: Callable[[float], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        scraped = await scrape(f"http://{address}")
        return bool(scraped.find(metrics.DUE_NOT_SENT)) and wanted(
            scraped.value(metrics.DUE_NOT_SENT)
        )

    return check


async def _stop_delivery_and_schedule(scene: FaultScene, delivery_address: str) -> None:
    """Start the delivery worker and stop it (cleanly), then schedule the notices."""
    worker = await scene.start_worker(METRICS_ADDRESS=delivery_address)
    await stopped_cleanly(worker)
    now = datetime.now(UTC)
    await scene.schedule(
        [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(NOTICES)]
        + [start_notice_only(LEAD, now=now, chat_id=BLOCKED)]
    )


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("blocked")
async def test_the_due_not_sent_gauge_rises_while_delivery_is_stopped_and_falls_when_it_returns(
    scene: FaultScene,
) -> None:
    observer_address = _address()
    try:
        observer = await _start_observer(scene, observer_address)
        # The gauge is there, and 0, from its first count (a moment after the worker polls).
        await eventually(_gauge_is(observer_address, lambda v: v == 0), within=10)
        await _stop_delivery_and_schedule(scene, _address())
        await eventually(
            _gauge_is(observer_address, lambda v: v == NOTICES + 1), within=OVERDUE_WITHIN
        )
        worker = await scene.start_worker()
        await eventually(scene.counted(SENT, NOTICES), within=60)
        await eventually(
            _gauge_is(observer_address, lambda v: v == 0),
            within=due.EVERY.total_seconds() + 10,
        )
        await stopped_cleanly(worker)
        await stopped_cleanly(observer)
    finally:
        await _forget_observer(scene)


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("blocked")
async def test_prometheus_fires_due_not_sent_while_delivery_is_stopped_and_every_panel_has_data(
    scene: FaultScene,
    children: Children,
    tmp_path: Path,
) -> None:
    prometheus_binary()  # before anything starts: skipped (or, in CI, failed) without it
    observer_address, delivery_address = _address(), _address()
    prometheus = Prometheus(children, tmp_path / "prometheus")
    await prometheus.start(
        override(
            CONFIG.read_text(),
            {
                "scrape_interval: 15s": "scrape_interval: 1s",
                "evaluation_interval: 15s": "evaluation_interval: 1s",
                '["worker:9464"]': f'["{observer_address}", "{delivery_address}"]',
                '["bot:9464"]': f'["{_address()}"]',  # no bot here: a target that is down
            },
        ),
        # The shipped alert waits 5 minutes; the test, 5 seconds.
        override(RULES.read_text(), {"        for: 5m\n": "        for: 5s\n"}),
    )
    try:
        observer = await _start_observer(scene, observer_address)
        await _stop_delivery_and_schedule(scene, delivery_address)
        assert "NoticesDueNotSent" not in await prometheus.firing()

        async def fires() -> bool:
            return "NoticesDueNotSent" in await prometheus.firing()

        await eventually(fires, within=OVERDUE_WITHIN + 10)
        worker = await scene.start_worker(METRICS_ADDRESS=delivery_address)
        await eventually(scene.counted(SENT, NOTICES), within=60)

        async def resolved() -> bool:
            return "NoticesDueNotSent" not in await prometheus.firing()

        await eventually(resolved, within=due.EVERY.total_seconds() + 15)
        # Steady state: more notices go out while Prometheus watches, so the histograms
        # (whose series appeared with the first sends) show a rate, as they do in production.
        now = datetime.now(UTC)
        await scene.schedule(
            [start_notice_only(LATER, now=now, chat_id=CHATS + NOTICES + i) for i in range(2)]
        )
        await eventually(scene.counted(SENT, NOTICES + 2), within=30)
        await asyncio.sleep(3)  # a few scrapes
        empty = [
            (title, expr)
            for title, expr in dashboard_queries()
            if not _finite(await prometheus.query(expr.replace("$__rate_interval", "1m")))
        ]
        await stopped_cleanly(worker)
        await stopped_cleanly(observer)
    finally:
        await _forget_observer(scene)
    assert empty == [], "dashboard panels without data"


def _finite(result: list[dict[str, object]]) -> bool:
    """Whether an instant vector holds a number (histogram_quantile of nothing gives NaN)."""
    values = [float(sample["value"][1]) for sample in result]  # type: ignore[index]
    return any(math.isfinite(v) for v in values)
