"""``booking-notify events``: the outbox from the command line, read from the rows alone.

Without options it prints the oldest kept events; ``--after`` pages on, ``--follow`` keeps
printing what commits next (until Ctrl-C), ``--failed`` shows the events whose webhook delivery
finally failed, and ``--redeliver`` queues events again (the given ones, or with ``--failed``
every failed one shown).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from booking_notifications.api.events import EventView, page, redeliver
from booking_notifications.cli.database import database_only
from booking_notifications.cli.inputs import UsageError
from booking_notifications.cli.output import json_default
from booking_notifications.core.clock import utc_text, utcnow
from booking_notifications.db.session import Sessions
from booking_notifications.settings import Settings

FOLLOW_EVERY = 1.0
"""Seconds between looks for new events with ``--follow``."""


async def cmd_events(settings: Settings, args: argparse.Namespace) -> int:
    async with database_only(settings) as sessions:
        if args.redeliver is not None:
            return await _redeliver(settings, sessions, args)
        cursor = args.after
        while True:
            batch = await page(sessions, cursor, args.limit, failed=args.failed)
            for event in batch:
                _print(event, as_json=args.json, webhook=settings.events_webhook_url is not None)
            cursor = batch[-1].seq if batch else cursor
            if not args.follow:
                if not args.json and not batch:
                    print("no events" + (" failed" if args.failed else "") + f" after {cursor}")
                return 0
            if len(batch) < args.limit:
                await asyncio.sleep(FOLLOW_EVERY)


async def _redeliver(settings: Settings, sessions: Sessions, args: argparse.Namespace) -> int:
    seqs = list(args.redeliver)
    if not seqs:
        if not args.failed:
            raise UsageError(
                "--redeliver needs the seqs of events, or --failed for every failed one"
            )
        seqs = [e.seq for e in await page(sessions, args.after, args.limit, failed=True)]
    count = await redeliver(sessions, seqs, utcnow(), settings.events_retry_for)
    if args.json:
        print(json.dumps({"redelivered": count}))
    else:
        print(f"{count} event(s) queued for the webhook again")
    return 0


def _print(event: EventView, *, as_json: bool, webhook: bool) -> None:
    """One line per event: JSON (the webhook's payload and where its delivery stands) or text."""
    if as_json:
        delivery = {
            "attempts": event.attempts,
            "delivered_at": event.delivered_at,
            "failed_at": event.failed_at,
            "last_error": event.last_error,
        }
        line = json.dumps(event.payload | {"delivery": delivery}, default=json_default)
        print(line, flush=True)
        return
    about = f"booking {event.booking_id}" if event.booking_id is not None else "user"
    refs = ", ".join(
        f"{name} {value}"
        for name, value in (("ref", event.booking_ref), ("user", event.user_ref))
        if value is not None
    )
    notice = f" {event.notice}" if event.notice else ""
    data = " ".join(f"{k}={v}" for k, v in event.data.items() if k != "kind" and v is not None)
    print(
        f"{event.seq:>6}  {utc_text(event.timestamp)}  {event.type:<18} {about}"
        f"{f' ({refs})' if refs else ''}{notice}{f'  {data}' if data else ''}  [{_delivery(event, webhook)}]",
        flush=True,
    )


def _delivery(event: EventView, webhook: bool) -> str:
    """Where the event's webhook delivery stands; a row only, when no webhook is set."""
    if event.delivered_at is not None:
        return "delivered"
    if event.failed_at is not None:
        return f"failed: {event.last_error}"
    if event.attempts:
        return f"pending, {event.attempts} attempt(s): {event.last_error}"
    return "pending" if webhook else "a row only: no EVENTS_WEBHOOK_URL"
