"""The processes a fault test starts, and what it asks Temporal about their work.

- the worker: ``booking-notify worker`` against a Temporal address and a database;
- the Temporal dev server: ``booking-notify server`` with a persistent SQLite file;
- a throwaway PostgreSQL cluster from the server binaries, run as the ``postgres`` OS user
  (``initdb`` refuses root);
- whether a test's workflows are all asleep, and forgetting them when it is over.

Each runs as a ``tests.support.processes.Child`` of the test's ``children`` fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.temporal import runtime
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine
from tests.support.cli import CLI, cli_env, stack_env
from tests.support.postgres import unavailable
from tests.support.processes import Child, Children, free_port


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


# --- the worker -------------------------------------------------------------------------------


async def start_worker(
    children: Children,
    client: Client,
    *,
    db_url: str,
    task_queue: str,
    telegram_url: str,
    **extra: str,
) -> Child:
    """``booking-notify worker`` as production runs it, its own process, on the server ``client``
    talks to, sending to ``telegram_url``; returned once it polls both its queues."""
    env = stack_env(
        client,
        db_url,
        task_queue,
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_URL=telegram_url,
        **extra,
    )
    worker = children.start("worker", [CLI, "worker"], env=env, cwd=children.folder)
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
    mine = f"{worker.pid}@"
    wanted = (
        (task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        (f"{task_queue}-delivery", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    )

    async def polling() -> bool:
        for name, kind in wanted:
            if not any(i.startswith(mine) for i in await pollers(client, name, kind)):
                return False
        return True

    await worker.until_ready(polling, within, every=0.2)


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


async def forget_workflows(client: Client, workflow_ids: Iterable[str], prefix: str) -> None:
    """Terminate the test's workflows (they would sleep until their bookings end) and the events
    relay, and delete the reconcile Schedule its workers created; whatever is gone is fine."""
    limit = asyncio.Semaphore(16)

    async def one(workflow_id: str) -> None:
        async with limit:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate("fault test over")

    await asyncio.gather(*(one(w) for w in [*workflow_ids, f"{prefix}events"]))
    with contextlib.suppress(RPCError):
        await client.get_schedule_handle(f"{prefix}reconcile").delete()


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
        env = cli_env(BOOKING_NOTIFY_DATA_DIR=str(self.data_dir), TEMPORAL_ADDRESS=self.address)
        child = self.child = self.children.start(
            "temporal-server", [CLI, "server"], env=env, own_group=True
        )
        await child.wait_for_line("Temporal server:", within)
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

    async def started(self) -> WorkflowEnvironment:
        """Start the server; an environment on a client of it."""
        await self.start()
        return await self.environment()

    async def environment(self) -> WorkflowEnvironment:
        """An environment on a new client of the server (on the process's runtime)."""
        return WorkflowEnvironment.from_client(
            await Client.connect(self.address, runtime=runtime())
        )

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

    @classmethod
    def required(cls, children: Children) -> PostgresCluster:
        """A cluster for this test; it must run, so under ``CI=true`` a missing binary fails."""
        missing = cls.missing()
        if missing:
            unavailable(missing, "CI=true: this fault test must run")
        return cls(children)

    async def migrated(self, database: str) -> str:
        """Make the cluster, start it, and create a migrated database on it; its URL."""
        self.init()
        await self.start()
        db_url = await self.create_database(database)
        engine = make_engine(db_url)
        await upgrade(engine)
        await engine.dispose()
        return db_url

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

        async def answers() -> bool:
            try:
                connection = await asyncpg.connect(self.admin_url, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                return False
            await connection.close()
            return True

        await self.child.until_ready(answers, within)

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
