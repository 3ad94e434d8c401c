"""The bare-Temporal peer: one timer, then one activity that only sends. The ceiling.

No rows, no rendering, no staleness checks, no search attributes: what any Temporal reminder
costs at least. Our overhead is measured as the ratio to this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=50)


@dataclass
class BareInput:
    """Chat and text travel in the input (the product keeps them in SQL instead)."""

    chat_id: int
    text: str
    due_epoch: float


@workflow.defn
class BareReminder:
    """Sleep until due, send once."""

    @workflow.run
    async def run(self, request: BareInput) -> None:
        delay = request.due_epoch - workflow.now().timestamp()
        if delay > 0:
            await workflow.sleep(delay)
        await workflow.execute_activity(
            "bare_send",
            request,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=SEND_RETRY,
        )
