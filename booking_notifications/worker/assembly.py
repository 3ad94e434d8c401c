"""Worker assembly: resources opened once, three workers sharing them, closed at shutdown.

Workflows and row writes run on the main task queue. Deliveries run on ``<queue>-delivery``,
whose server-side rate limit caps sends per second across every worker process (Telegram allows
about 30 messages per second per bot), so no worker needs a limiter of its own. The webhook relay
runs on ``<queue>-events``, so a receiver that is down never takes a delivery's slot.

Each process has at most ``DELIVERY_CONCURRENCY`` sends in flight (default 4). Telegram has no
idempotency key, so a send whose request had left when the process died, before the heartbeat of
Telegram's answer, is repeated by the retry: the number in flight bounds what a crash can repeat. One in flight keeps the
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

from temporalio.api.enums.v1 import TaskQueueType
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
from temporalio.common import MetricMeter, WorkflowIDConflictPolicy
from temporalio.worker import Worker

from booking_notifications.activities.edits import EditActivities
from booking_notifications.activities.events import EventRelay
from booking_notifications.activities.notices import NoticeActivities
from booking_notifications.activities.pacing import paced
from booking_notifications.activities.reconcile import ReconcileActivities
from booking_notifications.api import BookingNotifier
from booking_notifications.channels import Channel, DeliveryError, Misconfigured
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.channels.webhook import WebhookSender
from booking_notifications.db.migrate import check_schema
from booking_notifications.db.pacer import SharedPacer
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.observe.due import watch_due_not_sent
from booking_notifications.observe.exporter import Exporter, endpoints, meter_of
from booking_notifications.observe.health import database, polling
from booking_notifications.observe.metrics import DeliveryMetrics, EventMetrics
from booking_notifications.settings import Settings, SettingsError
from booking_notifications.texts.actions import signer_for
from booking_notifications.worker.sandbox import workflow_runner
from booking_notifications.worker.supervise import supervised
from booking_notifications.workflows.activities import delivery_task_queue, events_task_queue
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.booking_v1 import BookingWorkflowV1
from booking_notifications.workflows.events import EventsRelayWorkflow
from booking_notifications.workflows.reconcile import ReconcileWorkflow

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN = timedelta(seconds=25)
"""In-flight sends get this long to finish on SIGTERM, so no row is left PROCESSING."""


class WorkerFailed(Exception):
    """A worker stopped on its own: the process can no longer work, the message says why."""


def make_channel(settings: Settings, *, dev: bool = False) -> Channel:
    """Where notices go: Telegram when a bot token is set, the console when chosen.

    The console only pretends to deliver (it prints, and rows say SENT), so outside ``dev`` it
    must be chosen by name: a deployment that forgot its token refuses to start instead.
    """
    token, choice = settings.telegram_bot_token, settings.notice_channel
    if choice == "console" or (choice is None and token is None and dev):
        log.info("notices go to the console (printed, not sent)")
        return ConsoleChannel()
    if token is None:
        raise SettingsError(
            "no TELEGRAM_BOT_TOKEN: set it to send notices to Telegram, "
            "or NOTICE_CHANNEL=console to print them instead of sending them"
        )
    log.info("notices go to Telegram at %s", settings.telegram_api_url or "the public Bot API")
    # aiogram takes seconds to import; only a worker that sends to Telegram pays for it.
    from booking_notifications.channels.telegram import TelegramChannel

    return TelegramChannel(
        token.get_secret_value(),
        settings.telegram_api_url,
        paid_broadcast=settings.telegram_paid_broadcast,
    )


async def open_channel(settings: Settings, *, dev: bool = False) -> Channel:
    """``make_channel``, then ask it who it sends as (Telegram's getMe).

    A refused or malformed token stops the start with ``Misconfigured`` (one line). Telegram
    being unreachable right now does not: timers and cancels must go on, and sends are retried.
    """
    channel = make_channel(settings, dev=dev)
    try:
        identity = await channel.check()
    except Misconfigured:
        await channel.close()
        raise
    except DeliveryError as err:
        log.warning("cannot ask Telegram who the bot is (%s); starting anyway", err)
    else:
        log.info("sending as %s", identity)
    return channel


def build_workers(
    client: Client,
    settings: Settings,
    sessions: Sessions,
    channel: Channel,
    *,
    meter: MetricMeter = MetricMeter.noop,
    sender: WebhookSender | None = None,
) -> list[Worker]:
    """The workflow worker (with row writes and reconcile), the rate-limited delivery worker
    (its sends paced across processes unless DELIVERY_PACING is off),
    and the events worker (the webhook relay). ``meter`` records the metrics (nothing without
    it); ``sender`` sends the events (without it they stay rows)."""
    relay = EventRelay(
        sessions,
        sender,
        retry_for=settings.events_retry_for,
        retention=settings.events_retention,
        metrics=EventMetrics(meter),
    )
    signer = signer_for(settings)
    if settings.delivery_pacing:
        channel = paced(channel, SharedPacer(sessions, settings.task_queue, settings.delivery_rate))
    signed = signer is not None  # notices carry buttons, which an edit takes away
    edits = EditActivities(sessions, channel, buttons=signed)
    metrics = DeliveryMetrics(meter)
    activities = NoticeActivities(sessions, channel, signer=signer, metrics=metrics, edits=edits)
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
            workflows=[BookingWorkflow, BookingWorkflowV1, ReconcileWorkflow],
            workflow_runner=workflow_runner(),
            max_cached_workflows=settings.workflow_cache,
            activities=[activities.mirror, ReconcileActivities(notifier).reconcile],
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
        Worker(
            client,
            task_queue=delivery_task_queue(settings.task_queue),
            activities=[activities.deliver, edits.edit, edits.edit_all],
            max_task_queue_activities_per_second=settings.delivery_rate,
            max_concurrent_activities=settings.delivery_concurrency,
            # A slow delivery's heartbeats reach the server every 2 s, well inside its 5 s
            # heartbeat timeout even on a loaded machine (the SDK would wait 4 s).
            max_heartbeat_throttle_interval=timedelta(seconds=2),
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
        Worker(
            client,
            task_queue=events_task_queue(settings.task_queue),
            workflows=[EventsRelayWorkflow],
            workflow_runner=workflow_runner(),
            activities=[relay.relay],
            max_concurrent_activities=2,
            max_heartbeat_throttle_interval=timedelta(seconds=5),
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
    ]


def webhook_sender(settings: Settings) -> WebhookSender | None:
    """The sender of events to ``EVENTS_WEBHOOK_URL``; None when events are only kept as rows."""
    if settings.events_webhook_url is None or settings.events_webhook_secret is None:
        return None
    log.info("events go to the webhook at %s", settings.events_webhook_url.split("?", 1)[0])
    return WebhookSender(
        settings.events_webhook_url, settings.events_webhook_secret.get_secret_value()
    )


@asynccontextmanager
async def running_workers(
    client: Client, settings: Settings, channel: Channel, exporter: Exporter | None = None
) -> AsyncIterator[None]:
    """Run both workers for the duration of the block, then shut them down gracefully.

    A worker that stops on its own (a fatal poll error, a namespace that does not exist) ends
    the block at once with ``WorkerFailed``: a process that can no longer work must not look
    alive, and for the same reason a database not at our revision stops the start with
    ``SchemaMismatch``. The channel is closed on the way out. With an ``exporter``, the workers
    record their metrics through it, the due-but-not-sent count runs beside them, and the
    metrics and health endpoints are served.
    """
    engine = make_engine(settings.db_url)
    sender: WebhookSender | None = None
    try:
        await check_schema(engine)
        sessions = make_sessions(engine)
        meter = meter_of(exporter)
        sender = webhook_sender(settings)
        workers = build_workers(client, settings, sessions, channel, meter=meter, sender=sender)
        work = [w.run() for w in workers]
        if exporter is not None:
            work.append(watch_due_not_sent(sessions, meter))
        queues = [
            (settings.task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
            (delivery_task_queue(settings.task_queue), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
        ]
        checks = {"temporal": polling(client, queues), "database": database(engine)}

        async def shutdown() -> None:
            await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)

        async with endpoints(exporter, checks), supervised(work, _failed, stop=shutdown):
            yield
    finally:
        await channel.close()
        if sender is not None:
            await sender.close()
        await engine.dispose()


def _failed(error: BaseException | None) -> WorkerFailed:
    return WorkerFailed(_reason(error) if error else "a worker stopped on its own")


def _reason(error: BaseException) -> str:
    """One line: why a worker stopped (the SDK's own message names the namespace, the queue)."""
    causes = [str(error)]
    while error.__cause__ is not None:
        error = error.__cause__
        causes.append(str(error))
    text = ": ".join(c.strip() for c in causes if c.strip()) or type(error).__name__
    return "worker stopped: " + " ".join(text.split())


def events_relay_id(settings: Settings) -> str:
    return f"{settings.workflow_id_prefix}events"


async def ensure_events_relay(client: Client, settings: Settings) -> None:
    """Start the events relay workflow unless it runs (one per deployment, whatever the number
    of worker processes)."""
    await client.start_workflow(
        EventsRelayWorkflow.run,
        id=events_relay_id(settings),
        task_queue=events_task_queue(settings.task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="events to the webhook",
    )


def reconcile_schedule_id(settings: Settings) -> str:
    return f"{settings.workflow_id_prefix}reconcile"


async def ensure_reconcile_schedule(client: Client, settings: Settings) -> None:
    """Create the Schedule that runs the reconcile workflow, or bring its interval up to date."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileWorkflow.run,
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
