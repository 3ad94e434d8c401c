"""The processes a fault test starts, signals and always cleans up.

- ``Child``: one process (or process group) we started, its log file, signals, a sure clean-up;
- the worker: ``booking-notify worker`` against a Temporal address and a database;
- the Temporal dev server: ``booking-notify server`` with a persistent SQLite file;
- a throwaway PostgreSQL cluster from the server binaries, run as the ``postgres`` OS user
  (``initdb`` refuses root).

Only processes started here are ever signalled: a whole group only when we created the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest,
)
from temporalio.client import Client

from booking_notifications.settings import setting_names

CLI = Path(sys.executable).parent / "booking-notify"


def _newest_postgres_bin() -> Path:
    """The newest Debian-installed PostgreSQL server binaries (or POSTGRES_BIN)."""
    if "POSTGRES_BIN" in os.environ:
        return Path(os.environ["POSTGRES_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


POSTGRES_BIN = _newest_postgres_bin()
POSTGRES_USER = "postgres"
TEST_TOKEN = "123456:TEST-TOKEN"
UI_PORT_OFFSET = 1000


def child_env(**settings: str) -> dict[str, str]:
    """This environment without the product's settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if k not in setting_names()}
    env.update(settings)
    return env


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
    """A process this test started; ``close()`` leaves nothing of it running, whatever happened."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        log_path: Path,
        cwd: Path | None = None,
        own_group: bool = False,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.own_group = own_group
        self._log: IO[bytes] = log_path.open("ab")
        try:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
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


# --- the worker -------------------------------------------------------------------------------


async def start_worker(
    children: Children,
    client: Client,
    *,
    db_url: str,
    task_queue: str,
    telegram_url: str,
    address: str | None = None,
    **extra: str,
) -> Child:
    """``booking-notify worker`` as production runs it, its own process, sending to ``telegram_url``;
    returned once it polls both its queues. ``address`` defaults to the server ``client`` talks to.
    """
    env = child_env(
        TEMPORAL_ADDRESS=address or client.service_client.config.target_host,
        DATABASE_URL=db_url,
        TEMPORAL_TASK_QUEUE=task_queue,
        WORKFLOW_ID_PREFIX=f"{task_queue}-",
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_URL=telegram_url,
        **extra,
    )
    worker = children.start("worker", [str(CLI), "worker"], env=env, cwd=children.folder)
    await until_polling(client, worker, task_queue)
    return worker


async def pollers(client: Client, task_queue: str, kind: TaskQueueType.ValueType) -> set[str]:
    """Identities of the workers polling ``task_queue`` lately (for ``kind`` tasks)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=kind,
        )
    )
    return {p.identity for p in response.pollers}


async def until_polling(
    client: Client, worker: Child, task_queue: str, within: float = 60.0
) -> None:
    """Wait until ``worker`` polls both its queues: workflows on the main one, sends on delivery.

    The SDK names a worker ``<pid>@<host>``, so a killed predecessor still listed by the server
    does not count.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    mine = f"{worker.pid}@"
    wanted = (
        (task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        (f"{task_queue}-delivery", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    )
    while True:
        if not worker.alive:
            raise AssertionError(f"{worker.name} exited ({worker.returncode})\n{worker.tail()}")
        seen = [
            any(i.startswith(mine) for i in await pollers(client, name, kind))
            for name, kind in wanted
        ]
        if all(seen):
            return
        if loop.time() > deadline:
            raise AssertionError(f"{worker.name} is not polling after {within} s\n{worker.tail()}")
        await asyncio.sleep(0.2)


async def all_asleep(client: Client, workflow_ids: list[str]) -> bool:
    """Whether every one of these workflows waits on a timer alone: no activity or workflow task
    outstanding, so nothing of theirs is in flight when a fault comes."""
    for workflow_id in workflow_ids:
        description = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
            )
        )
        if description.pending_activities or description.HasField("pending_workflow_task"):
            return False
    return True


# --- the Temporal dev server with a persistent file -------------------------------------------


def _children_of(pid: int) -> list[tuple[int, str, str]]:
    """(pid, command name, state) of the live processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid:
            found.append((int(entry.name), name, state))
    return found


class TemporalDevServer:
    """``booking-notify server``: the Temporal CLI dev server keeping its state in a SQLite file.

    It runs in a process group of its own (the Python launcher and the ``temporal`` binary it
    spawns), so a kill takes down the server itself, as a crash would.
    """

    def __init__(self, children: Children, data_dir: Path) -> None:
        self.children = children
        self.data_dir = data_dir
        self.port = free_port(UI_PORT_OFFSET)
        self.address = f"127.0.0.1:{self.port}"
        self.child: Child | None = None

    @property
    def database(self) -> Path:
        return self.data_dir / "temporal.db"

    async def start(self, within: float = 60.0) -> None:
        env = child_env(BOOKING_NOTIFY_DATA_DIR=str(self.data_dir), TEMPORAL_ADDRESS=self.address)
        child = self.child = self.children.start(
            "temporal-server", [str(CLI), "server"], env=env, own_group=True
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while "Temporal server:" not in child.log():
            if not child.alive or loop.time() > deadline:
                raise AssertionError(f"the dev server did not come up\n{child.tail()}")
            await asyncio.sleep(0.1)
        # The launcher reports ready once *a* server answers on the port; make sure it is ours
        # (a binary that lost the port to another process exits at once).
        await asyncio.sleep(0.5)
        binaries = [
            p
            for p, name, state in _children_of(child.pid)
            if name == "temporal" and state not in ("Z", "X")
        ]
        if len(binaries) != 1:
            raise AssertionError(f"our temporal binary is not running\n{child.tail()}")

    async def kill(self) -> None:
        """SIGKILL the server, launcher and binary together, and wait until both are gone."""
        assert self.child is not None
        self.child.send(signal.SIGKILL)
        await self.child.wait(15)

    async def stop(self) -> None:
        if self.child is not None and self.child.alive:
            await self.child.stop(signal.SIGTERM, within=20)


# --- a throwaway PostgreSQL cluster ------------------------------------------------------------


class PostgresCluster:
    """A PostgreSQL cluster of its own, in a temporary folder owned by the ``postgres`` user.

    ``crash()`` is an immediate shutdown (SIGQUIT to the postmaster: every connection drops, new
    ones are refused); ``start()`` brings it back on the same port with the same data.
    """

    def __init__(self, children: Children) -> None:
        self.children = children
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="bn-faults-pg-"))
        # initdb refuses root: as root, the cluster belongs to and runs as the postgres user.
        self.user = POSTGRES_USER if os.geteuid() == 0 else None
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self.child: Child | None = None
        self._env = {"PATH": f"{POSTGRES_BIN}:/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}

    @staticmethod
    def missing() -> str | None:
        """Why a cluster cannot be made here, or None when it can."""
        for binary in ("initdb", "postgres"):
            if not (POSTGRES_BIN / binary).is_file():
                return f"no PostgreSQL server binary {POSTGRES_BIN / binary} (set POSTGRES_BIN)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(POSTGRES_USER)
            except KeyError:
                return f"running as root and there is no {POSTGRES_USER!r} user to run initdb"
        return None

    @property
    def admin_url(self) -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/postgres"  # initdb -U

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+asyncpg://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        done = subprocess.run(
            [str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
             "-U", POSTGRES_USER, "-E", "UTF8", "--locale=C", "--no-sync"],
            env=self._env, capture_output=True, text=True, timeout=120,
            user=self.user, group=self.user, extra_groups=[] if self.user else None,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"initdb failed ({done.returncode}):\n{done.stderr}")

    async def start(self, within: float = 30.0) -> None:
        self.child = self.children.start(
            "postgres",
            [str(POSTGRES_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
             "-c", "fsync=off", "-c", "max_connections=200"],
            env=self._env, user=self.user,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if not self.child.alive:
                raise AssertionError(f"PostgreSQL did not start\n{self.child.tail()}")
            try:
                connection = await asyncpg.connect(self.admin_url, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if loop.time() > deadline:
                    raise AssertionError(f"PostgreSQL not ready\n{self.child.tail()}") from None
                await asyncio.sleep(0.1)
            else:
                await connection.close()
                return

    async def create_database(self, name: str) -> str:
        connection = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    async def crash(self) -> None:
        """Immediate shutdown: connections drop, the port refuses new ones."""
        assert self.child is not None
        await self.child.stop(signal.SIGQUIT, within=20)

    def close(self) -> None:
        if self.child is not None and self.child.alive:
            self.child.send(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.process.wait(timeout=20)
        shutil.rmtree(self.root, ignore_errors=True)
