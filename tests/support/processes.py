"""Child processes that are always cleaned up, and free ports: for the fault tests and the benchmark.

- ``Child``: one process (or a process group of its own) we started, its log file, signals, a
  sure clean-up;
- ``Children``: every process a test started, closed at teardown even when the test failed;
- ``free_port``: a port on 127.0.0.1 nobody listens on (and, optionally, ports at given offsets).

Only processes started here are ever signalled: a whole group only when we created the group.
The standard library only, so that ``python -m bench`` imports it without pytest or the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*offsets: int) -> int:
    """A free port on 127.0.0.1 such that ``port + offset`` is free too for every offset."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if all(port + o < 65536 and _port_free(port + o) for o in offsets):
            return port


class Child:
    """A process we started, its output in ``log_path``; ``close()`` leaves nothing of it running,
    whatever happened.

    ``own_group`` starts it in a process group of its own, signalled as a whole (a launcher and
    what it spawns); ``user`` runs it as that user (as root only); ``stdin`` gives it a pipe to
    write to (``process.stdin``) instead of nothing.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
        own_group: bool = False,
        user: str | None = None,
        stdin: bool = False,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.own_group = own_group
        self._log: IO[bytes] = log_path.open("ab")
        try:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=own_group,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        except BaseException:
            self._log.close()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        """Whether the process (the group's leader, for a group) has not exited yet."""
        if not self.own_group:
            return self.process.poll() is None
        if self.process.returncode is not None:
            return False
        # Look without reaping: an unreaped leader keeps the group id ours (see ``send``).
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.pid, flags) is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.own_group else self.process.poll()

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the process, or to its whole group when it has one of its own.

        A group is signalled only until its leader is reaped, which happens once every member
        has gone: until then its id cannot belong to anyone else's processes.
        """
        if not self.own_group:
            if self.process.poll() is None:
                self.process.send_signal(sig)
        elif self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def _group_alive(self) -> bool:
        """Whether a member of our group other than the exited leader still runs."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.pid:
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
            if int(pgrp) == self.pid and state not in ("Z", "X"):
                return True
        return False

    async def wait(self, within: float) -> int:
        """The exit status once the process (and, for a group, every member) has exited;
        TimeoutError after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.alive or (self.own_group and self._group_alive()):
            if loop.time() > deadline:
                raise TimeoutError(f"{self.name} (pid {self.pid}) still runs after {within} s")
            await asyncio.sleep(0.05)
        return self.process.wait()

    async def stop(self, sig: signal.Signals = signal.SIGTERM, within: float = 40.0) -> int:
        """Ask it to stop with ``sig``; SIGKILL when it has not stopped within ``within`` s."""
        self.send(sig)
        try:
            return await self.wait(within)
        except TimeoutError:
            self.send(signal.SIGKILL)
            return await self.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def wait_for_line(self, marker: str, within: float) -> None:
        """Wait until the log contains ``marker``; RuntimeError when the process exits first,
        TimeoutError after ``within`` seconds."""
        deadline = time.monotonic() + within
        while marker not in self.log():
            if not self.alive:
                raise RuntimeError(f"{self.name} exited ({self.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready in {within} s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    async def until_ready(
        self, ready: Callable[[], Awaitable[bool]], within: float, *, every: float = 0.1
    ) -> None:
        """Poll ``ready`` while the process runs until it holds; AssertionError (with the log's
        tail) when the process exits first or ``within`` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if not self.alive:
                raise AssertionError(f"{self.name} exited ({self.returncode})\n{self.tail()}")
            if await ready():
                return
            if loop.time() > deadline:
                raise AssertionError(f"{self.name} not ready after {within} s\n{self.tail()}")
            await asyncio.sleep(every)

    def tail(self, lines: int = 30) -> str:
        return f"--- {self.name} log (last {lines} lines) ---\n" + "\n".join(
            self.log().splitlines()[-lines:]
        )

    def close(self) -> None:
        """Kill whatever is left of it (the whole group, for a group) and reap it."""
        self.send(signal.SIGKILL)
        if self.own_group:
            deadline = time.monotonic() + 15
            while self._group_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self._log.close()


class Children:
    """Every process a test started, closed at teardown even when the test failed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._started: list[Child] = []
        self._counts: dict[str, int] = {}

    def start(self, name: str, argv: list[str], **kwargs: object) -> Child:
        number = self._counts[name] = self._counts.get(name, 0) + 1
        label = f"{name}-{number}"
        child = Child(label, argv, log_path=self.folder / f"{label}.log", **kwargs)  # type: ignore[arg-type]
        self._started.append(child)
        return child

    def __iter__(self) -> Iterator[Child]:
        return iter(self._started)

    def close(self) -> None:
        for child in reversed(self._started):
            child.close()
