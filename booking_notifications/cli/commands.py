"""The commands of ``booking-notify``: each an async function of the settings and the arguments."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import MetricMeter

from booking_notifications.api import BookingNotifier, CancelResult
from booking_notifications.api.people import LINK_VALID_FOR
from booking_notifications.api.temporal import connect
from booking_notifications.api.views import booking_view, list_notices
from booking_notifications.channels import BotIdentity
from booking_notifications.cli import csvfile, inputs
from booking_notifications.cli.database import database_only
from booking_notifications.cli.devserver import embedded_temporal, ui_url
from booking_notifications.cli.events import cmd_events
from booking_notifications.cli.output import print_json, print_notices, print_view
from booking_notifications.cli.progress import FileProgress
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine
from booking_notifications.observe.exporter import endpoints, install_exporter, meter_of
from booking_notifications.observe.health import temporal_answers
from booking_notifications.observe.metrics import BotMetrics
from booking_notifications.settings import Settings
from booking_notifications.worker.assembly import (
    ensure_events_relay,
    ensure_reconcile_schedule,
    open_channel,
    running_workers,
)

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


async def cmd_dev(settings: Settings, _args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    exporter = install_exporter(settings)
    channel = await open_channel(settings, dev=True)
    async with embedded_temporal(settings) as env, AsyncExitStack() as bot:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        await engine.dispose()
        await ensure_reconcile_schedule(env.client, settings)
        await ensure_events_relay(env.client, settings)
        async with running_workers(env.client, settings, channel, exporter):
            print(f"Temporal server: {settings.temporal_address} (UI {ui_url(settings)})")
            print(f"Database: {settings.safe_db_url}")
            if settings.telegram_bot_token is not None:  # a bot: it answers, by long polling
                identity = await bot.enter_async_context(_bot(settings, env.client))
                print(f"Bot {identity} receiving updates by long polling.")
            print("Worker running. Ctrl-C stops everything.", flush=True)
            await _until_stopped(stop)
    return 0


async def cmd_server(settings: Settings, _args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    async with embedded_temporal(settings):
        print(f"Temporal server: {settings.temporal_address} (UI {ui_url(settings)})", flush=True)
        await _until_stopped(stop)
    return 0


async def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    exporter = install_exporter(settings)  # before the client: it must use the exporting runtime
    channel = await open_channel(settings)
    client = await connect(settings)
    await ensure_reconcile_schedule(client, settings)
    await ensure_events_relay(client, settings)
    async with running_workers(client, settings, channel, exporter):
        print(
            f"Worker on task queue {settings.task_queue!r} at {settings.temporal_address}",
            flush=True,
        )
        await _until_stopped(stop)
    return 0


async def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    engine = make_engine(settings.db_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print(f"Database {settings.safe_db_url} is up to date.")
    return 0


async def cmd_book(settings: Settings, args: argparse.Namespace) -> int:
    if args.from_file is not None:
        requests = csvfile.read_csv(args.from_file, args)
    elif args.skip_bad_rows or args.encoding:
        raise inputs.UsageError("--skip-bad-rows and --encoding go with --from-file")
    else:
        requests = [inputs.booking_request(inputs.given(args), args)]
    shown = args.from_file is not None and not args.json and sys.stdout.isatty()
    progress = FileProgress(sys.stdout, len(requests)) if shown else None
    async with await BookingNotifier.from_settings(settings) as notifier:
        ids = await notifier.schedule_many(requests, progress=progress)
        if progress is not None:
            print("\n" + progress.summary(ids))
            return 0
        if args.json:
            print_json({"booking_id": ids if args.from_file else ids[0]})
            return 0
        for booking_id in ids:
            print(f"booking {booking_id} scheduled")
            if args.from_file is None:
                print_view(await notifier.status(booking_id))
    return 0


async def cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    async with await BookingNotifier.from_settings(settings) as notifier:
        result = await notifier.cancel(args.booking_id, args.reason)
    if args.json:
        print_json({"booking_id": args.booking_id, "cancelled": bool(result), "result": result})
    else:
        print(f"booking {args.booking_id} {CANCEL_OUTCOMES[result]}")
    return 0


CANCEL_OUTCOMES = {
    CancelResult.CANCELLED: "cancelled; its owner is being told",
    CancelResult.ALREADY_CANCELLED: "was already cancelled: nothing changed",
    CancelResult.OVER: "has ended: nothing changed",
}


async def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async with database_only(settings) as sessions:
        view = await booking_view(sessions, args.booking_id)
    if args.json:
        print_json(asdict(view))
    else:
        print_view(view)
    return 0


async def cmd_reschedule(settings: Settings, args: argparse.Namespace) -> int:
    starts_at, ends_at = inputs.moment(args.start, args.tz), inputs.moment(args.end, args.tz)
    async with await BookingNotifier.from_settings(settings) as notifier:
        await notifier.reschedule(args.booking_id, starts_at, ends_at)
        view = await notifier.status(args.booking_id)
    if args.json:
        print_json(asdict(view))
    else:
        print(f"booking {args.booking_id} moved; its owner is being told")
        print_view(view)
    return 0


async def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    async with database_only(settings) as sessions:
        notices = await list_notices(
            sessions,
            chat_id=args.chat_id,
            user_ref=args.user,
            status=args.status,
            due_from=now if args.due_within else None,
            due_until=now + args.due_within if args.due_within else None,
            limit=args.limit,
        )
    if args.json:
        print_json({"notices": [asdict(n) for n in notices]})
        return 0
    print_notices(notices)
    return 0


async def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    async with await BookingNotifier.from_settings(settings) as notifier:
        scheduled = await notifier.reconcile()
    if args.json:
        print_json({"scheduled": scheduled})
    else:
        print(f"scheduled {len(scheduled)} booking(s) that had no workflow: {scheduled}")
    return 0


async def cmd_link(settings: Settings, args: argparse.Namespace) -> int:
    async with await BookingNotifier.from_settings(settings) as notifier:
        link = await notifier.people.link(args.user, valid_for=args.valid_for or LINK_VALID_FOR)
    if args.json:
        print_json({"user_ref": args.user, "link": link})
    else:
        print(link)
    return 0


async def cmd_bot(settings: Settings, args: argparse.Namespace) -> int:
    if (args.webhook is None) != (args.listen is None):
        raise inputs.UsageError("--webhook and --listen go together")
    listen = inputs.host_port(args.listen) if args.listen else None
    stop = _stop_on_signals()
    exporter = install_exporter(settings)
    client = await connect(settings)
    checks = {"temporal": temporal_answers(client)}
    async with (
        endpoints(exporter, checks),
        _bot(
            settings, client, webhook=args.webhook, listen=listen, meter=meter_of(exporter)
        ) as identity,
    ):
        how = f"by webhook at {args.webhook}" if args.webhook else "by long polling"
        print(f"Bot {identity} receiving updates {how}. Ctrl-C stops it.", flush=True)
        await _until_stopped(stop)
    return 0


@asynccontextmanager
async def _bot(
    settings: Settings,
    client: Client,
    *,
    webhook: str | None = None,
    listen: tuple[str, int] | None = None,
    meter: MetricMeter = MetricMeter.noop,
) -> AsyncIterator[BotIdentity]:
    """The bot, acting through a notifier of its own (aiogram is imported only here)."""
    from booking_notifications.bot.run import running_bot

    notifier = await BookingNotifier.from_settings(settings, client)
    metrics = BotMetrics(meter)
    async with (
        notifier,
        running_bot(settings, notifier, webhook=webhook, listen=listen, metrics=metrics) as bot,
    ):
        yield bot


COMMANDS: dict[str, Command] = {
    "dev": cmd_dev,
    "server": cmd_server,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "book": cmd_book,
    "cancel": cmd_cancel,
    "status": cmd_status,
    "reschedule": cmd_reschedule,
    "list": cmd_list,
    "reconcile": cmd_reconcile,
    "link": cmd_link,
    "bot": cmd_bot,
    "events": cmd_events,
}


def _stop_on_signals() -> asyncio.Event:
    """An event that Ctrl-C or SIGTERM sets. Installed before anything starts, so a signal that
    arrives during start-up (a supervisor stopping a process it just started) still stops it
    gracefully instead of killing it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _until_stopped(stop: asyncio.Event) -> None:
    await stop.wait()
    print("Stopping…", flush=True)
