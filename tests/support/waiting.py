"""Waiting in real time: for a condition to hold, or for a wall-clock moment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail with the timeout when it never does."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.1)


async def sleep_until(moment: datetime) -> None:
    """Sleep until the wall clock reaches ``moment`` (at once when it has)."""
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0))
