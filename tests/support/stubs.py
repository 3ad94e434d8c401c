"""Workers for tests that run the real booking workflow on stub activities (no SQL, no Telegram):
the workflow's queue with a stub mirror, the delivery queue with a stub delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from booking_notifications.workflows.activities import delivery_task_queue
from booking_notifications.workflows.booking import BookingWorkflow


@asynccontextmanager
async def stub_workers(
    env: WorkflowEnvironment,
    task_queue: str,
    mirror: Callable[..., Awaitable[Any]],
    deliver: Callable[..., Awaitable[Any]],
) -> AsyncIterator[None]:
    """Both workers for the block; ``mirror`` and ``deliver`` are ``activity.defn`` stubs under
    the product's activity names."""
    async with (
        Worker(env.client, task_queue=task_queue, workflows=[BookingWorkflow], activities=[mirror]),
        Worker(env.client, task_queue=delivery_task_queue(task_queue), activities=[deliver]),
    ):
        yield
