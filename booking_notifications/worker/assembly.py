"""Worker assembly: resources opened once, two workers sharing them, closed at shutdown.

Workflows and row writes run on the main task queue. Deliveries run on ``<queue>-delivery``,
whose server-side rate limit caps sends per second across every worker process (Telegram allows
about 30 messages per second per bot), so no worker needs a limiter of its own.

Each process has at most ``DELIVERY_CONCURRENCY`` sends in flight (default 4). Telegram has no
idempotency key, so a send that Telegram accepted but whose row did not yet say SENT is repeated
after a crash: the number in flight is the number a crash can repeat. One in flight keeps the
promise of at most one repeated message per crash; throughput then grows by running more worker
processes (each adds about one send per Telegram round trip), or by raising the setting and
accepting up to that many repeats per crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.worker import Worker

from booking_notifications.activities.notices import NoticeActivities
from booking_notifications.activities.reconcile import ReconcileActivities
from booking_notifications.api import BookingNotifier
from booking_notifications.channels import Channel
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.settings import Settings
from booking_notifications.workflows.booking import BookingNotifications, delivery_task_queue
from booking_notifications.workflows.reconcile import ReconcileBookings

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN = timedelta(seconds=25)
"""In-flight sends get this long to finish on SIGTERM, so no row is left PROCESSING."""


def make_channel(settings: Settings) -> Channel:
    """Telegram when a bot token is set, otherwise the console."""
    if settings.telegram_bot_token is None:
        log.info("no TELEGRAM_BOT_TOKEN: notices go to the console")
        return ConsoleChannel()
    log.info("notices go to Telegram at %s", settings.telegram_api_url or "the public Bot API")
    # aiogram takes seconds to import; only a worker that sends to Telegram pays for it.
    from booking_notifications.channels.telegram import TelegramChannel

    return TelegramChannel(
        settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url
    )


def build_workers(
    client: Client, settings: Settings, sessions: Sessions, channel: Channel
) -> list[Worker]:
    """The workflow worker (with row writes and reconcile) and the rate-limited delivery worker."""
    activities = NoticeActivities(sessions, channel)
    notifier = BookingNotifier(
        client,
        sessions,
        settings.task_queue,
        id_prefix=settings.workflow_id_prefix,
        retry_for=settings.delivery_retry_for,
    )
    return [
        Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[BookingNotifications, ReconcileBookings],
            activities=[activities.mirror, ReconcileActivities(notifier).reconcile],
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
        Worker(
            client,
            task_queue=delivery_task_queue(settings.task_queue),
            activities=[activities.deliver],
            max_task_queue_activities_per_second=settings.delivery_rate,
            max_concurrent_activities=settings.delivery_concurrency,
            # A slow delivery's heartbeats reach the server every 2 s, well inside its 5 s
            # heartbeat timeout even on a loaded machine (the SDK would wait 4 s).
            max_heartbeat_throttle_interval=timedelta(seconds=2),
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
    ]


@asynccontextmanager
async def running_workers(
    client: Client, settings: Settings, channel: Channel | None = None
) -> AsyncIterator[None]:
    """Run both workers for the duration of the block, then shut them down gracefully."""
    engine = make_engine(settings.db_url)
    channel = channel or make_channel(settings)
    try:
        workers = build_workers(client, settings, make_sessions(engine), channel)
        tasks = [asyncio.create_task(w.run()) for w in workers]
        try:
            yield
        finally:
            await asyncio.gather(*(w.shutdown() for w in workers))
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await channel.close()
        await engine.dispose()


def reconcile_schedule_id(settings: Settings) -> str:
    return f"{settings.workflow_id_prefix}reconcile"


async def ensure_reconcile_schedule(client: Client, settings: Settings) -> None:
    """Create the Schedule that runs the reconcile workflow, or bring its interval up to date."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileBookings.run,
            id=reconcile_schedule_id(settings),
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.reconcile_interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(reconcile_schedule_id(settings), schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(reconcile_schedule_id(settings))
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))
