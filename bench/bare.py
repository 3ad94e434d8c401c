"""Worker process of the bare-Temporal peer: ``python -m bench.bare``.

A plain ``Worker`` with the default sandboxed runner, one task queue for the workflow and the
activity, and the same server-side rate limit as the product's delivery queue.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from datetime import timedelta

from aiogram.exceptions import TelegramRetryAfter
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from bench.bare_workflow import BareInput, BareReminder
from bench.sender import make_bot


class BareActivities:
    """The send, and nothing else."""

    def __init__(self, token: str, api_url: str) -> None:
        self.bot = make_bot(token, api_url)

    @activity.defn(name="bare_send")
    async def send(self, request: BareInput) -> int:
        try:
            message = await self.bot.send_message(chat_id=request.chat_id, text=request.text)
        except TelegramRetryAfter as err:
            raise ApplicationError(
                "rate limited", next_retry_delay=timedelta(seconds=err.retry_after)
            ) from None
        return message.message_id


async def serve(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address)
    activities = BareActivities(args.token, args.api_url)
    worker = Worker(
        client,
        task_queue=args.queue,
        workflows=[BareReminder],
        activities=[activities.send],
        max_task_queue_activities_per_second=args.rate,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        print("bare worker ready", flush=True)
        await stop.wait()
    await activities.bot.session.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, required=True)
    asyncio.run(serve(parser.parse_args()))
    os._exit(0)  # temporalio/sdk-python#300: no interpreter teardown


if __name__ == "__main__":
    main()
