"""Child processes of a benchmark run: started with their own environment, always stopped.

The dev server, the worker and each peer run in processes of their own so that their memory can
be measured apart and none of them shares an event loop with the fake Telegram server. Every
child gets its own process group; ``stop`` sends SIGTERM, then SIGKILL after a bounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from booking_notifications.temporal import find_binary
from booking_notifications.workflows.search import ALL as SEARCH_ATTRIBUTES

STOP_GRACE_S = 30.0
BENCH_TOKEN = "123456:TEST-TOKEN"


def free_port() -> int:
    """A port nobody listens on right now (bind to 0 and let the kernel pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """One child process whose output goes to a log file; stopped by ``stop`` whatever happens."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdin: bool = False,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            list(argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for_line(self, marker: str, within: float) -> None:
        """Wait until the child's log contains ``marker``; fail if it exits or takes too long."""
        deadline = time.monotonic() + within
        while marker not in self.log_text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready in {within} s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    async def stop(self) -> None:
        """SIGTERM the child's group, then SIGKILL it if it is still there after the grace."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_S
            while self.proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - a child exit is no event
                await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._log.close()


def dev_server(data_dir: Path, port: int, log_dir: Path) -> Child:
    """The Temporal CLI dev server as ``booking-notify dev`` runs it: a WAL SQLite file, no UI."""
    argv = [str(find_binary("temporal")), "server", "start-dev"]
    argv += ["--ip", "127.0.0.1", "--port", str(port), "--headless"]
    argv += ["--db-filename", str(data_dir / "temporal.db")]
    argv += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    argv += ["--log-level", "warn"]
    for key in SEARCH_ATTRIBUTES:
        argv += ["--search-attribute", f"{key.name}={key._metadata_type}"]
    return Child("temporal", argv, log_dir)


def python_module(
    name: str, module: str, args: Sequence[str], log_dir: Path, *, stdin: bool = False
) -> Child:
    """``python -m module args`` with this interpreter."""
    return Child(name, [sys.executable, "-m", module, *args], log_dir, stdin=stdin)


def rss(pid: int) -> int:
    """Resident memory of a process and its children, in bytes (0 once it is gone)."""
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)
    except psutil.Error:
        return 0


def files_size(*paths: Path) -> int:
    """Bytes on disk of the given files plus their SQLite ``-wal``/``-shm`` companions."""
    total = 0
    for path in paths:
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            with contextlib.suppress(FileNotFoundError):
                total += candidate.stat().st_size
    return total


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its children so far; None once it is gone."""
    try:
        proc = psutil.Process(pid)
        total = sum(proc.cpu_times()[:2])
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return float(total)
    except psutil.Error:
        return None
