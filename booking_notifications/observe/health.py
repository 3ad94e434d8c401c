"""Readiness checks: connected to Temporal and the database, and the workers polling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from booking_notifications.observe.server import Check

RPC_TIMEOUT = timedelta(seconds=2)

Polled = tuple[str, TaskQueueType.ValueType]
"""A task queue, and the kind of task a worker polls it for."""


def polling(client: Client, queues: Sequence[Polled]) -> Check:
    """Temporal answers, and lists this process among the pollers of every queue.

    Workers take the client's identity (``pid@host``), so another process polling the same queue
    does not make this one ready. The server forgets a poller a little after its last poll: a
    worker that stopped polling is reported within about a minute.
    """

    async def polled() -> str | None:
        for name, kind in queues:
            answer = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=name),
                    task_queue_type=kind,
                ),
                timeout=RPC_TIMEOUT,
            )
            if not any(p.identity == client.identity for p in answer.pollers):
                return f"not polling task queue {name!r}"
        return None

    return _asking_temporal(polled)


def temporal_answers(client: Client) -> Check:
    """Temporal answers for the client's namespace (for a process that runs no worker)."""

    async def described() -> None:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace), timeout=RPC_TIMEOUT
        )

    return _asking_temporal(described)


def _asking_temporal(ask: Callable[[], Awaitable[str | None]]) -> Check:
    """The check ``ask`` makes, or that Temporal does not answer when one of its calls fails."""

    async def check() -> str | None:
        try:
            return await ask()
        except RPCError as err:
            return f"Temporal does not answer ({err.status.name})"

    return check


def database(engine: AsyncEngine) -> Check:
    """The database takes a connection and answers a query."""

    async def check() -> str | None:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as err:
            return f"the database does not answer ({type(err).__name__})"
        return None

    return check
