"""``booking-notify``: run the stack, the server or the worker; book, cancel and inspect bookings.

Every command ends through ``os._exit`` after flushing its output, so its exit status is always
the true one: a short-lived process using the Temporal client can otherwise abort at interpreter
teardown (temporalio/sdk-python#300).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from booking_notifications.api import BookingNotFound, BookingNotifier, BookingView
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine
from booking_notifications.durations import parse_duration, parse_durations
from booking_notifications.requests import (
    DEFAULT_REMINDERS,
    BookingRequest,
    InvalidBooking,
    check_time_zone,
)
from booking_notifications.settings import Settings, SettingsError, load_settings
from booking_notifications.temporal import connect
from booking_notifications.worker.assembly import ensure_reconcile_schedule, running_workers
from booking_notifications.worker.dev import embedded_temporal, ui_url
from booking_notifications.workflows.types import NoticeStatus

CSV_REQUIRED = ("chat_id", "title", "start", "end")
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or input: printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch and turn every expected failure into one line and an exit status."""
    args = parser().parse_args(argv)
    if args.command == "fake-telegram":
        from booking_notifications import fake_telegram

        return fake_telegram.main(args.rest)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (SettingsError, UsageError, InvalidBooking, BookingNotFound) as err:
        print(f"booking-notify: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ConnectionError as err:
        print(f"booking-notify: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="booking-notify", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="Temporal dev server, SQLite, worker: everything on defaults")
    sub.add_parser("server", help="the embedded Temporal dev server alone")
    sub.add_parser("worker", help="the worker, against TEMPORAL_ADDRESS and DATABASE_URL")
    sub.add_parser("migrate", help="bring the database schema up to date")

    book = sub.add_parser("book", help="schedule the notices of a booking (or of a CSV file)")
    source = book.add_mutually_exclusive_group(required=True)
    source.add_argument("--chat-id", type=_int, help="Telegram chat id of the booking's owner")
    source.add_argument(
        "--from-file", type=Path, help="CSV: chat_id,title,start,end[,reminders,tz]"
    )
    book.add_argument("--start", help="ISO time; without an offset it is read in --tz")
    book.add_argument("--end", help="ISO time; without an offset it is read in --tz")
    book.add_argument("--title")
    book.add_argument("--ref", help="your own booking key: the same ref is scheduled once")
    book.add_argument("--reminders", help="offsets before the start, e.g. 24h,1h (default)")
    book.add_argument("--tz", help="the user's IANA time zone, e.g. Europe/Berlin (default UTC)")
    book.add_argument("--lang", help="the user's language, e.g. en")
    book.add_argument("--no-start-notice", action="store_true")
    book.add_argument("--no-end-notice", action="store_true")
    book.add_argument("--json", action="store_true", help="print one JSON object")

    cancel = sub.add_parser("cancel", help="cancel a booking and tell its owner")
    cancel.add_argument("booking_id", type=_int)
    cancel.add_argument("--reason")
    cancel.add_argument("--json", action="store_true")

    status = sub.add_parser("status", help="a booking's notices and their states")
    status.add_argument("booking_id", type=_int)
    status.add_argument("--json", action="store_true")

    move = sub.add_parser("reschedule", help="move a booking; its notices follow")
    move.add_argument("booking_id", type=_int)
    move.add_argument(
        "--start", required=True, help="ISO time; without an offset it is read in --tz"
    )
    move.add_argument("--end", required=True, help="ISO time; without an offset it is read in --tz")
    move.add_argument("--tz", help="the zone of times given without an offset (default UTC)")
    move.add_argument("--json", action="store_true")

    listing = sub.add_parser("list", help="notices by user, by status, due within a window")
    listing.add_argument("--chat-id", type=_int, help="only this user's notices")
    listing.add_argument("--status", type=_status, help="PENDING, SENT, FAILED, SKIPPED, ...")
    listing.add_argument("--due-within", type=_duration, help="due from now to now + this, e.g. 1h")
    listing.add_argument("--limit", type=_int, default=100)
    listing.add_argument("--json", action="store_true")

    reconcile = sub.add_parser("reconcile", help="schedule bookings whose workflow never started")
    reconcile.add_argument("--json", action="store_true")

    fake = sub.add_parser(
        "fake-telegram", help="a local fake Telegram Bot API server", add_help=False
    )
    fake.add_argument("rest", nargs=argparse.REMAINDER)
    return p


async def cmd_dev(settings: Settings, _args: argparse.Namespace) -> int:
    async with embedded_temporal(settings) as env:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        await engine.dispose()
        await ensure_reconcile_schedule(env.client, settings)
        async with running_workers(env.client, settings):
            print(f"Temporal server: {settings.temporal_address} (UI {ui_url(settings)})")
            print(f"Database: {_safe_url(settings.db_url)}")
            print("Worker running. Ctrl-C stops everything.", flush=True)
            await _until_stopped()
    return 0


async def cmd_server(settings: Settings, _args: argparse.Namespace) -> int:
    async with embedded_temporal(settings):
        print(f"Temporal server: {settings.temporal_address} (UI {ui_url(settings)})", flush=True)
        await _until_stopped()
    return 0


async def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    client = await _connect(settings)
    await ensure_reconcile_schedule(client, settings)
    async with running_workers(client, settings):
        print(
            f"Worker on task queue {settings.task_queue!r} at {settings.temporal_address}",
            flush=True,
        )
        await _until_stopped()
    return 0


async def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    engine = make_engine(settings.db_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print(f"Database {_safe_url(settings.db_url)} is up to date.")
    return 0


async def cmd_book(settings: Settings, args: argparse.Namespace) -> int:
    if args.from_file is not None:
        requests = read_csv(args.from_file, args)
    else:
        requests = [
            _request(args.chat_id, args.title, args.start, args.end, args.reminders, args.tz, args)
        ]
    async with await _notifier(settings) as notifier:
        ids = await notifier.schedule_many(requests)
        if args.json:
            _print_json({"booking_id": ids if args.from_file else ids[0]})
            return 0
        for booking_id in ids:
            print(f"booking {booking_id} scheduled")
            if args.from_file is None:
                _print_view(await notifier.status(booking_id))
    return 0


async def cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    async with await _notifier(settings) as notifier:
        cancelled = await notifier.cancel(args.booking_id, args.reason)
    if args.json:
        _print_json({"booking_id": args.booking_id, "cancelled": cancelled})
    elif cancelled:
        print(f"booking {args.booking_id} cancelled; its owner is being told")
    else:
        print(f"booking {args.booking_id} was already cancelled or has ended: nothing changed")
    return 0


async def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async with await _notifier(settings) as notifier:
        view = await notifier.status(args.booking_id)
    if args.json:
        _print_json(asdict(view))
    else:
        _print_view(view)
    return 0


async def cmd_reschedule(settings: Settings, args: argparse.Namespace) -> int:
    starts_at, ends_at = _moment(args.start, args.tz), _moment(args.end, args.tz)
    async with await _notifier(settings) as notifier:
        await notifier.reschedule(args.booking_id, starts_at, ends_at)
        view = await notifier.status(args.booking_id)
    if args.json:
        _print_json(asdict(view))
    else:
        print(f"booking {args.booking_id} moved; its owner is being told")
        _print_view(view)
    return 0


async def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    async with await _notifier(settings) as notifier:
        notices = await notifier.list_notices(
            chat_id=args.chat_id,
            status=args.status,
            due_from=now if args.due_within else None,
            due_until=now + args.due_within if args.due_within else None,
            limit=args.limit,
        )
    if args.json:
        _print_json({"notices": [asdict(n) for n in notices]})
        return 0
    for n in notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"booking {n.booking_id:<6} {n.key:<16} due {_utc(n.due_at)}  {n.status}{note}")
    print(f"{len(notices)} notice(s)")
    return 0


async def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    async with await _notifier(settings) as notifier:
        scheduled = await notifier.reconcile()
    if args.json:
        _print_json({"scheduled": scheduled})
    else:
        print(f"scheduled {len(scheduled)} booking(s) that had no workflow: {scheduled}")
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
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
}


def read_csv(path: Path, args: argparse.Namespace) -> list[BookingRequest]:
    """Bookings from a CSV file; the first bad line stops everything, named by its number."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
            requests = []
            now = datetime.now(UTC)
            for row in reader:
                line = reader.line_num
                try:
                    chat_id = _int(row["chat_id"] or "")
                    request = _request(
                        chat_id,
                        row["title"] or None,
                        row["start"],
                        row["end"],
                        row.get("reminders") or args.reminders,
                        row.get("tz") or args.tz,
                        args,
                    )
                    requests.append(request.validated(now))
                except (ValueError, UsageError, argparse.ArgumentTypeError) as err:
                    raise UsageError(f"{path}, line {line}: {err}") from None
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    if not requests:
        raise UsageError(f"{path} holds no bookings")
    return requests


def _request(
    chat_id: int,
    title: str | None,
    start: str | None,
    end: str | None,
    reminders: str | None,
    tz: str | None,
    args: argparse.Namespace,
) -> BookingRequest:
    if not start or not end:
        raise UsageError("both --start and --end are needed")
    return BookingRequest(
        chat_id=chat_id,
        starts_at=_moment(start, tz),
        ends_at=_moment(end, tz),
        title=title,
        reminders=DEFAULT_REMINDERS if reminders is None else _reminders(reminders),
        start_notice=not args.no_start_notice,
        end_notice=not args.no_end_notice,
        time_zone=tz,
        language=args.lang,
        ref=getattr(args, "ref", None) if args.from_file is None else None,
    )


def _reminders(text: str) -> list[timedelta]:
    try:
        return parse_durations(text)
    except ValueError as err:
        raise UsageError(f"--reminders: {err}") from None


def _moment(text: str, tz: str | None) -> datetime:
    """An ISO time; one without an offset is read in ``tz`` (UTC when none is given)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{text!r} is not an ISO time like 2026-11-29T10:00 or 2026-11-29T10:00+01:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=check_time_zone(tz) if tz else UTC)
    return value


def _status(text: str) -> NoticeStatus:
    try:
        return NoticeStatus(text.strip().upper())
    except ValueError:
        names = ", ".join(s.value for s in NoticeStatus)
        raise argparse.ArgumentTypeError(f"{text!r} is not a status: {names}") from None


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


async def _connect(settings: Settings) -> Any:
    try:
        return await connect(settings)
    except RuntimeError as err:
        raise ConnectionError(
            f"cannot reach Temporal at {settings.temporal_address}: {err}"
        ) from None


async def _notifier(settings: Settings) -> BookingNotifier:
    try:
        return await BookingNotifier.from_settings(settings)
    except RuntimeError as err:
        raise ConnectionError(
            f"cannot reach Temporal at {settings.temporal_address}: {err}"
        ) from None


async def _until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("Stopping…", flush=True)


def _print_view(view: BookingView) -> None:
    state = (
        f"cancelled {view.cancelled_at:%Y-%m-%d %H:%M:%S} UTC" if view.cancelled_at else "active"
    )
    print(
        f"booking {view.booking_id}: {view.starts_at:%Y-%m-%d %H:%M:%S}–{view.ends_at:%H:%M:%S} UTC, {state}"
    )
    for n in view.notices:
        note = f"  ({n.last_error})" if n.last_error else ""
        print(f"  {n.key:<16} due {n.due_at:%Y-%m-%d %H:%M:%S} UTC  {n.status}{note}")


def _print_json(value: object) -> None:
    print(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _safe_url(url: str) -> str:
    """A database URL with any password masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
