"""``booking-notify`` as a user runs it: a separate process, with only the settings a test gives."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from booking_notifications.settings import setting_names

CLI = str(Path(sys.executable).parent / "booking-notify")
"""The console script of this environment (found even when it is not activated)."""


def cli_env(**settings: str) -> dict[str, str]:
    """This environment without any of the product's settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if k not in setting_names()}
    env.update(settings)
    return env


def stack_env(client: Client, db_url: str, task_queue: str, **settings: str) -> dict[str, str]:
    """``cli_env`` for a test's own stack: its Temporal server, database, task queue and workflow
    id prefix (the one ``stack.settings_for`` gives the in-process workers), plus ``settings``."""
    return cli_env(
        **{
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "DATABASE_URL": db_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "WORKFLOW_ID_PREFIX": f"{task_queue}-",
            **settings,
        }
    )


async def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, str, str]:
    """Run ``booking-notify args`` to its end: exit status, standard output and standard error."""
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    except BaseException:  # a command that did not end (a worker that should have refused)
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Dev:
    """``booking-notify dev`` running, its output (standard error too) read line by line."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    """Every line read so far."""

    async def next_line(self, within: float) -> str:
        """The next line ("" once it has exited)."""
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), within)).decode()
        self.lines.append(line)
        return line

    async def up(self, within: float) -> None:
        """Read until it says the stack is up; it must not exit before."""
        while not self.lines or "Ctrl-C stops everything" not in self.lines[-1]:
            line = await self.next_line(within)
            assert line, "dev exited early:\n" + "".join(self.lines)

    async def ctrl_c(self, within: float) -> int:
        """Press Ctrl-C: its exit status."""
        self.process.send_signal(signal.SIGINT)
        return await asyncio.wait_for(self.process.wait(), within)


@asynccontextmanager
async def running_dev(env: dict[str, str], cwd: Path) -> AsyncIterator[Dev]:
    """Start ``booking-notify dev`` in a session of its own, so that when the test fails it is
    killed with the dev server it started."""
    process = await asyncio.create_subprocess_exec(
        CLI, "dev", env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield Dev(process)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def iso(moment: datetime) -> str:
    """A moment as the CLI takes it: UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")
