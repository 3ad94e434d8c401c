"""Background work a process depends on: if it stops on its own, the process must not go on.

A worker or a bot poller runs as a task beside the process's main work (waiting for Ctrl-C).
When such a task ends by itself (it failed, or returned while it should run for ever), the block
that depends on it is interrupted at once with the failure, so the process exits non-zero with
one line instead of looking alive while doing nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def supervised(
    work: list[Coroutine[Any, Any, None]],
    failed: Callable[[BaseException | None], Exception],
    stop: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[None]:
    """Run ``work`` as tasks for the block; the first to end on its own ends the block with
    ``failed(its exception, or None when it returned)``. On the way out ``stop`` asks the work to
    end its own way (a worker's graceful shutdown), then whatever still runs is cancelled."""
    host = asyncio.current_task()
    assert host is not None
    ended: list[BaseException | None] = []
    stopping = False

    def on_done(task: asyncio.Task[None]) -> None:
        if stopping or task.cancelled() or ended:
            return
        ended.append(task.exception())
        host.cancel()  # wake the block: it must not go on as if the work still ran

    tasks = [asyncio.create_task(coroutine) for coroutine in work]
    for task in tasks:
        task.add_done_callback(on_done)
    try:
        yield
    except asyncio.CancelledError:
        if not ended:
            raise
        host.uncancel()
    finally:
        stopping = True
        if stop is not None:
            await stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if ended:
        raise failed(ended[0])
