"""Child processes of a benchmark run: started with their own environment, always stopped.

The dev server, the worker and each peer run in processes of their own so that their memory can
be measured apart and none of them shares an event loop with the fake Telegram server. Every
child gets its own process group; ``stop`` sends SIGTERM, then SIGKILL after a bounded wait.

The process handling itself is the fault tests' (``tests.support.processes``, standard library
only): ``python -m bench`` runs from the repository root, where ``tests`` is importable, and the
tests need not install the benchmark's dependencies (psutil) to share it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from booking_notifications.api.temporal import find_binary
from booking_notifications.workflows.search import ALL as SEARCH_ATTRIBUTES
from tests.support.processes import Child

STOP_GRACE_S = 30.0
BENCH_TOKEN = "123456:TEST-TOKEN"


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment, unbuffered, plus ``extra``: what every child of a run gets."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}


def start(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bool = False,
) -> Child:
    """A child in a process group of its own, logging to ``log_dir/<name>.log``."""
    return Child(
        name,
        argv,
        env=bench_env(env),
        log_path=log_dir / f"{name}.log",
        cwd=cwd,
        own_group=True,
        stdin=stdin,
    )


async def stop(child: Child) -> None:
    """SIGTERM the child's group, SIGKILL it if it is still there after the grace; reap it."""
    await child.stop(signal.SIGTERM, within=STOP_GRACE_S)
    child.close()


def dev_server(data_dir: Path, port: int, log_dir: Path) -> Child:
    """The Temporal CLI dev server as ``booking-notify dev`` runs it: a WAL SQLite file, no UI."""
    argv = [str(find_binary("temporal")), "server", "start-dev"]
    argv += ["--ip", "127.0.0.1", "--port", str(port), "--headless"]
    argv += ["--db-filename", str(data_dir / "temporal.db")]
    argv += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    argv += ["--log-level", "warn"]
    for key in SEARCH_ATTRIBUTES:
        argv += ["--search-attribute", f"{key.name}={key._metadata_type}"]
    return start("temporal", argv, log_dir)


def python_module(
    name: str, module: str, args: Sequence[str], log_dir: Path, *, stdin: bool = False
) -> Child:
    """``python -m module args`` with this interpreter."""
    return start(name, [sys.executable, "-m", module, *args], log_dir, stdin=stdin)


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
