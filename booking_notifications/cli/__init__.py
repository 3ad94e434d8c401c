"""``booking-notify`` (commands, the dev stack, logs); imports anything, and testing/ for fake-telegram only.

Run the stack, the server or the worker; book, cancel and inspect bookings.

Every command ends through ``os._exit`` after flushing its output, so its exit status is always
the true one: a short-lived process using the Temporal client can otherwise abort at interpreter
teardown (temporalio/sdk-python#300).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from booking_notifications.api.requests import InvalidBooking
from booking_notifications.api.views import BookingNotFound
from booking_notifications.cli import inputs
from booking_notifications.cli.inputs import UsageError
from booking_notifications.cli.logs import redact_secrets
from booking_notifications.db.session import location
from booking_notifications.errors import (
    database_unavailable,
    is_transient,
    temporal_unavailable,
)
from booking_notifications.observe.jsonlog import use_json_logs
from booking_notifications.settings import SettingsError, load_settings

EXIT_USAGE = 2


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
        from booking_notifications.testing import fake_telegram

        return fake_telegram.main(args.rest, prog="booking-notify fake-telegram")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from booking_notifications.api.runs import WorkflowIdTaken
    from booking_notifications.bot import BotConflict
    from booking_notifications.channels import DeliveryError, Misconfigured
    from booking_notifications.cli.commands import COMMANDS
    from booking_notifications.db.migrate import SchemaMismatch
    from booking_notifications.worker.assembly import WorkerFailed

    try:
        settings = load_settings()
        if settings.log_format == "json":
            use_json_logs()
        redact_secrets(settings)
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (SettingsError, UsageError, InvalidBooking, BookingNotFound, Misconfigured) as err:
        print(f"booking-notify: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (
        ConnectionError,  # Unavailable, and a port the dev server cannot have
        WorkerFailed,
        SchemaMismatch,
        WorkflowIdTaken,
        BotConflict,
        DeliveryError,
    ) as err:
        print(f"booking-notify: {err}", file=sys.stderr)
        return 1
    except (RPCError, RuntimeError) as err:  # a Temporal call outside the API's own
        if not (isinstance(err, RPCError) or is_transient(err)):
            raise
        print(
            f"booking-notify: {temporal_unavailable(settings.temporal_address, err)}",
            file=sys.stderr,
        )
        return 1
    except SQLAlchemyError as err:  # a read of rows outside the API's own
        where = location(make_url(settings.db_url))
        print(f"booking-notify: {database_unavailable(where, err)}", file=sys.stderr)
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
    source.add_argument(
        "--chat-id", type=inputs.integer, help="Telegram chat id of the booking's owner"
    )
    source.add_argument(
        "--user", help="the owner's key in your service, connected with `link` (or not yet)"
    )
    source.add_argument(
        "--from-file",
        type=Path,
        help="a CSV file, one booking a row: columns chat_id (or user),title,start,end and optionally "
        "reminders,tz,lang,quiet_hours,ref,url (names ignore case and spaces); comma, semicolon or "
        "tab. An empty cell is not given: --reminders, --tz, --lang and --quiet-hours fill it on "
        "every row; --title, --start, --end, --ref and --url name one booking and are refused here",
    )
    book.add_argument("--start", help="ISO time; without an offset it is read in --tz")
    book.add_argument("--end", help="ISO time; without an offset it is read in --tz")
    book.add_argument("--title")
    book.add_argument("--ref", help="your own booking key: the same ref is scheduled once")
    book.add_argument("--url", help="the booking's page: reminders carry an 'Open booking' button")
    book.add_argument("--reminders", help="offsets before the start, e.g. 24h,1h (default)")
    book.add_argument("--tz", help="the user's IANA time zone, e.g. Europe/Berlin (default UTC)")
    book.add_argument("--lang", help="the user's language, e.g. en")
    book.add_argument("--quiet-hours", help="the user's local quiet hours, e.g. 22:00-08:00")
    book.add_argument(
        "--skip-bad-rows", action="store_true", help="with --from-file: schedule the good rows only"
    )
    book.add_argument(
        "--encoding",
        help="with --from-file: the file's encoding when it is not UTF-8, e.g. cp1251 (Excel's "
        "plain CSV on Russian Windows); a file starting with a byte order mark (Excel's CSV "
        "UTF-8 and Unicode text) is read as the mark says",
    )
    book.add_argument("--no-start-notice", action="store_true")
    book.add_argument("--no-end-notice", action="store_true")
    book.add_argument("--json", action="store_true", help="print one JSON object")

    cancel = sub.add_parser("cancel", help="cancel a booking and tell its owner")
    cancel.add_argument("booking_id", type=inputs.integer)
    cancel.add_argument("--reason")
    cancel.add_argument("--json", action="store_true")

    status = sub.add_parser("status", help="a booking's notices and their states")
    status.add_argument("booking_id", type=inputs.integer)
    status.add_argument("--json", action="store_true")

    move = sub.add_parser("reschedule", help="move a booking; its notices follow")
    move.add_argument("booking_id", type=inputs.integer)
    move.add_argument(
        "--start", required=True, help="ISO time; without an offset it is read in --tz"
    )
    move.add_argument("--end", required=True, help="ISO time; without an offset it is read in --tz")
    move.add_argument("--tz", help="the zone of times given without an offset (default UTC)")
    move.add_argument("--json", action="store_true")

    listing = sub.add_parser("list", help="notices by user, by status, due within a window")
    listing.add_argument("--chat-id", type=inputs.integer, help="only this user's notices")
    listing.add_argument("--user", help="only the notices of this user_ref")
    listing.add_argument("--status", type=inputs.status, help="PENDING, SENT, FAILED, SKIPPED, ...")
    listing.add_argument(
        "--due-within", type=inputs.duration, help="due from now to now + this, e.g. 1h"
    )
    listing.add_argument("--limit", type=inputs.integer, default=100)
    listing.add_argument("--json", action="store_true")

    link = sub.add_parser("link", help="a deep link that connects a user's Telegram")
    link.add_argument("--user", required=True, help="the user's key in your service")
    link.add_argument(
        "--valid-for", type=inputs.duration, help="how long the link works (default 24h)"
    )
    link.add_argument("--json", action="store_true")

    bot = sub.add_parser(
        "bot", help="the Telegram bot: connect links, buttons, /settings (long polling)"
    )
    bot.add_argument("--webhook", help="receive updates at this https URL instead of polling")
    bot.add_argument("--listen", help="with --webhook: the HOST:PORT to listen on")

    events = sub.add_parser("events", help="what happened (cancels, sends, connects), in order")
    events.add_argument(
        "--after", type=inputs.integer, default=0, help="only events after this seq (paging)"
    )
    events.add_argument(
        "--limit", type=inputs.integer, default=100, help="at most this many (1-1000)"
    )
    events.add_argument("--follow", action="store_true", help="keep printing new events")
    events.add_argument(
        "--failed", action="store_true", help="only events whose webhook delivery failed"
    )
    events.add_argument(
        "--redeliver",
        nargs="*",
        type=inputs.integer,
        metavar="SEQ",
        help="send these events to the webhook again (with --failed and no SEQ: every failed one)",
    )
    events.add_argument("--json", action="store_true", help="one JSON object a line")

    reconcile = sub.add_parser("reconcile", help="schedule bookings whose workflow never started")
    reconcile.add_argument("--json", action="store_true")

    # The fake server has its own parser, so everything after its name is handed to it. With our
    # prefix "-", argparse would take "--port" for an option of ours, which REMAINDER never
    # collects; no argument can start with NUL.
    fake = sub.add_parser(
        "fake-telegram",
        help="a local fake Telegram Bot API server (--help for its options)",
        add_help=False,
        prefix_chars="\0",
    )
    fake.add_argument("rest", nargs=argparse.REMAINDER)
    return p
