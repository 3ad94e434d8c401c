"""The four systems under test, each started fresh in a folder of its own and stopped after.

Every system offers the same three things to the workloads: ``schedule`` a list of notices
(returning each call's latency), ``cancel`` one (its owner must then get a cancellation notice),
and the processes and files to measure. The fake Telegram server is not part of any system: the
harness runs it and every system sends to it through aiogram.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from bench import polling, procs
from bench.bare_workflow import BareInput, BareReminder
from bench.procs import BENCH_TOKEN, dev_server, files_size, python_module
from booking_notifications.api import BookingNotifier
from booking_notifications.api.requests import BookingRequest
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine, make_sessions
from tests.support.processes import Child, free_port

CONCURRENCY = 16
"""Calls in flight while scheduling: the same as ``BookingNotifier.schedule_many`` uses."""
READY_TIMEOUT_S = 90.0
UNCAPPED_IN_FLIGHT = 100
"""The SDK's default activity slots per worker, which the bare peer runs with."""
UNCAPPED_RATE = 10_000.0


@dataclass(frozen=True)
class Notice:
    """One expected delivery: its own chat id (so a request maps to it) and its due moment."""

    chat_id: int
    due: float
    """Unix time."""

    @property
    def text(self) -> str:
        return f"bench notice {self.chat_id}"


async def _timed_all(
    items: Sequence[Notice], call: Callable[[Notice], Awaitable[None]]
) -> list[float]:
    """Run ``call`` for every item, ``CONCURRENCY`` at a time; each call's latency in seconds."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Notice) -> float:
        async with limit:
            started = time.perf_counter()
            await call(item)
            return time.perf_counter() - started

    return list(await asyncio.gather(*(one(item) for item in items)))


class System(ABC):
    """A system under test, started with a send rate (``None``: no cap anywhere)."""

    name: str

    def __init__(self, workdir: Path, telegram_url: str, rate: float | None) -> None:
        self.dir = workdir / f"{self.name}-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir(parents=True)
        self.telegram_url = telegram_url
        self.rate = rate if rate is not None else UNCAPPED_RATE
        self.children: dict[str, Child] = {}

    schedule_rate_guess = 300.0
    """Schedule calls per second to expect here, to choose the lead time before the first due."""

    @property
    def poll_interval(self) -> float:
        """How long the system may sit on a due notice by design (0 for timer-driven ones)."""
        return 0.0

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def schedule(self, notices: Sequence[Notice]) -> list[float]: ...

    @abstractmethod
    async def cancel(self, notice: Notice) -> None: ...

    @abstractmethod
    def storage_files(self) -> list[Path]: ...

    def storage_bytes(self) -> int:
        return files_size(*self.storage_files())

    def pids(self) -> dict[str, int]:
        return {role: child.pid for role, child in self.children.items()}

    async def stop(self) -> None:
        """The worker first (it drains), then the server it talks to, then the harness's own
        database engine when the system has one."""
        try:
            for role in ("worker", "server"):
                child = self.children.get(role)
                if child is not None:
                    await procs.stop(child)
        finally:
            engine = getattr(self, "engine", None)
            if engine is not None:
                await engine.dispose()

    def logs(self) -> str:
        return "\n".join(child.tail() for child in self.children.values())


PORT_TRIES = 3
"""Dev server starts tried when a port it picked was taken meanwhile."""


class TemporalSystem(System):
    """A system on the embedded dev server (persistent WAL file, as ``booking-notify dev``)."""

    client: Client

    async def _start_server(self) -> None:
        """Start the dev server and wait for it; again on fresh ports when one it picked (its
        HTTP API's and metrics' are random free ports) was taken before it bound it."""
        for tries_left in reversed(range(PORT_TRIES)):
            self.port = free_port()
            self.children["server"] = dev_server(self.dir, self.port, self.dir)
            if await self._server_ready():
                return
            tail = self.children["server"].tail()
            if "address already in use" not in tail or not tries_left:
                raise RuntimeError("dev server exited:\n" + tail)

    async def _server_ready(self) -> bool:
        """True once the server answers (visibility too); False if it exited first."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                self.client = await Client.connect(f"127.0.0.1:{self.port}")
                await self.client.count_workflows()  # visibility ready, not just the socket
                return True
            except Exception:
                if time.monotonic() > deadline:
                    raise
                if not self.children["server"].alive:
                    return False
                await asyncio.sleep(0.2)

    def storage_files(self) -> list[Path]:
        return [self.dir / "temporal.db"]

    @abstractmethod
    async def _start_worker(self) -> None: ...


class BookingNotify(TemporalSystem):
    """The product: ``booking-notify worker`` in its own process, the API in the harness."""

    name = "booking-notify"
    schedule_rate_guess = 25.0
    """Low: scheduling slows to ~30 per second while the worker takes the first tasks on two
    cores, and a first due moment passed mid-schedule refuses the rest (past starts)."""

    def __init__(self, workdir: Path, telegram_url: str, rate: float | None) -> None:
        """A name ``booking-notify+pg+3w+unpaced`` runs the rows on PostgreSQL (a database of
        its own on 127.0.0.1:5432, dropped after), three worker processes, and no shared pacer
        (Temporal's token bucket alone); any subset of the parts, in any order."""
        parts = set(self.name.split("+")[1:])
        self.postgres = "pg" in parts
        self.pacing = "unpaced" not in parts
        self.workers = next((int(p[:-1]) for p in parts if p.endswith("w")), 1)
        unknown = parts - {"pg", "unpaced", f"{self.workers}w"}
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)} of system {self.name!r}")
        super().__init__(workdir, telegram_url, rate)

    async def start(self) -> None:
        await self._start_server()
        self.db_path = self.dir / "notifications.db"
        if self.postgres:
            self.pg_name = f"bench_{uuid.uuid4().hex[:8]}"
            await postgres_database(self.pg_name, create=True)
            self.db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.pg_name}"
        else:
            self.db_url = f"sqlite+aiosqlite:///{self.db_path}"
        self.engine: AsyncEngine = make_engine(self.db_url)
        await upgrade(self.engine)
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        await self._start_worker()
        self.notifier = BookingNotifier(
            self.client, make_sessions(self.engine), self.queue, id_prefix="booking-"
        )
        self.booking_ids: dict[int, int] = {}

    async def _start_worker(self) -> None:
        env = {
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
            "DATABASE_URL": self.db_url,
            "DELIVERY_PACING": str(self.pacing).lower(),
            "TELEGRAM_BOT_TOKEN": BENCH_TOKEN,
            "TELEGRAM_API_URL": self.telegram_url,
            "TEMPORAL_TASK_QUEUE": self.queue,
            "WORKFLOW_ID_PREFIX": "booking-",
            "DELIVERY_RATE_PER_SECOND": str(self.rate),
            "BOOKING_NOTIFY_DATA_DIR": str(self.dir),
            **self.extra_env(),
        }
        if self.rate == UNCAPPED_RATE:
            # The ceiling of the orchestration, not of the safety setting: as many sends in
            # flight as the bare peer's worker (the SDK's default slots), instead of the default
            # 4 that bounds the messages a crash can repeat (BENCHMARKS.md gives both figures).
            env["DELIVERY_CONCURRENCY"] = str(UNCAPPED_IN_FLIGHT)
        cli = Path(sys.executable).parent / "booking-notify"
        for n in range(self.workers):
            role = "worker" if n == 0 else f"worker-{n + 1}"
            worker = procs.start(role, [str(cli), "worker"], self.dir, env=env, cwd=self.dir)
            self.children[role] = worker
            await worker.wait_for_line("Worker on task queue", READY_TIMEOUT_S)

    async def stop(self) -> None:
        """The extra workers first, then as any system; a PostgreSQL database is dropped."""
        try:
            for n in range(1, self.workers):
                child = self.children.get(f"worker-{n + 1}")
                if child is not None:
                    await procs.stop(child)
            await super().stop()
        finally:
            if self.postgres and hasattr(self, "pg_name"):
                await postgres_database(self.pg_name, create=False)

    def extra_env(self) -> dict[str, str]:
        """Settings a variant adds to the worker's environment."""
        return {}

    def request(self, notice: Notice, **fields: object) -> BookingRequest:
        starts = datetime.fromtimestamp(notice.due, UTC)
        options: dict[str, object] = {"reminders": [], "end_notice": False, **fields}
        return BookingRequest(
            chat_id=notice.chat_id,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            title=f"bench {notice.chat_id}",
            **options,  # type: ignore[arg-type]
        )

    async def schedule(self, notices: Sequence[Notice], **fields: object) -> list[float]:
        async def one(notice: Notice) -> None:
            self.booking_ids[notice.chat_id] = await self.notifier.schedule(
                self.request(notice, **fields)
            )

        return await _timed_all(notices, one)

    async def cancel(self, notice: Notice) -> None:
        await self.notifier.cancel(self.booking_ids[notice.chat_id], reason="bench")

    def storage_files(self) -> list[Path]:
        return [*super().storage_files(), *([] if self.postgres else [self.db_path])]


async def postgres_database(name: str, *, create: bool) -> None:
    """Create (or drop) a database on the PostgreSQL server at 127.0.0.1:5432."""
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class BookingNotifyMetrics(BookingNotify):
    """The product with ``METRICS_ADDRESS`` set, scraped every second as a busy Prometheus
    would (15 s is the default): what the metrics cost, next to the same worker without them."""

    name = "booking-notify-metrics"
    SCRAPE_EVERY = 1.0

    def extra_env(self) -> dict[str, str]:
        self.metrics_port = free_port()
        return {"METRICS_ADDRESS": f"127.0.0.1:{self.metrics_port}"}

    async def start(self) -> None:
        await super().start()
        self.scrapes = 0
        self.scraper = asyncio.create_task(self._scrape())

    async def _scrape(self) -> None:
        import aiohttp

        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        async with aiohttp.ClientSession() as http:
            while True:
                async with http.get(url) as answer:
                    await answer.read()
                    assert answer.status == 200, answer.status
                self.scrapes += 1
                await asyncio.sleep(self.SCRAPE_EVERY)

    async def stop(self) -> None:
        scraper = getattr(self, "scraper", None)
        if scraper is not None:
            scraper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scraper
        await super().stop()


class BareTemporal(TemporalSystem):
    """One timer and one send per workflow, on a plain Worker (``bench.bare``)."""

    name = "bare-temporal"
    schedule_rate_guess = 120.0

    async def start(self) -> None:
        await self._start_server()
        self.queue = f"bare-{uuid.uuid4().hex[:8]}"
        await self._start_worker()

    async def _start_worker(self) -> None:
        args = ["--address", f"127.0.0.1:{self.port}", "--queue", self.queue]
        args += ["--api-url", self.telegram_url, "--token", BENCH_TOKEN, "--rate", str(self.rate)]
        worker = python_module("worker", "bench.bare", args, self.dir)
        self.children["worker"] = worker
        await worker.wait_for_line("bare worker ready", READY_TIMEOUT_S)

    async def schedule(self, notices: Sequence[Notice]) -> list[float]:
        async def one(notice: Notice) -> None:
            await self.client.start_workflow(
                BareReminder.run,
                BareInput(notice.chat_id, notice.text, notice.due),
                id=f"bare-{notice.chat_id}",
                task_queue=self.queue,
            )

        return await _timed_all(notices, one)

    async def cancel(self, notice: Notice) -> None:
        raise NotImplementedError("the bare workflow has no cancel")


class Polling(System):
    """The polling loop (``bench.polling``) on a SQLite file; scheduling is one INSERT.

    ``polling`` is the tuned loop (every 1 s); ``polling-60s`` the first implementation's
    defaults (every 60 s). Both take at most 50 rows per check.
    """

    def __init__(
        self,
        workdir: Path,
        telegram_url: str,
        rate: float | None,
        check_interval: float = 1.0,
        batch_size: int = 50,
    ) -> None:
        self.check_interval, self.batch_size = check_interval, batch_size
        self.name = "polling" if check_interval == 1.0 else f"polling-{check_interval:g}s"
        super().__init__(workdir, telegram_url, rate)

    @property
    def poll_interval(self) -> float:
        return self.check_interval

    async def start(self) -> None:
        self.db_path = self.dir / "polling.db"
        self.engine = polling.make_engine(f"sqlite+aiosqlite:///{self.db_path}")
        await polling.create_schema(self.engine)
        args = ["--db", f"sqlite+aiosqlite:///{self.db_path}", "--api-url", self.telegram_url]
        args += ["--token", BENCH_TOKEN, "--check-interval", str(self.check_interval)]
        args += ["--batch-size", str(self.batch_size)]
        worker = python_module("worker", "bench.polling", args, self.dir)
        self.children["worker"] = worker
        await worker.wait_for_line("polling ready", READY_TIMEOUT_S)

    async def schedule(self, notices: Sequence[Notice]) -> list[float]:
        async def one(notice: Notice) -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(polling.notices).values(
                        chat_id=notice.chat_id, text=notice.text, due_at=notice.due
                    )
                )

        return await _timed_all(notices, one)

    async def cancel(self, notice: Notice) -> None:
        """Cancel the pending row and queue a cancellation notice due now."""
        async with self.engine.begin() as conn:
            table = polling.notices
            await conn.execute(
                update(table)
                .where(table.c.chat_id == notice.chat_id)
                .where(table.c.status == "PENDING")
                .values(status="CANCELLED")
            )
            await conn.execute(
                insert(table).values(
                    chat_id=notice.chat_id, text=f"cancelled {notice.chat_id}", due_at=time.time()
                )
            )

    def storage_files(self) -> list[Path]:
        return [self.db_path]


class APScheduler(System):
    """APScheduler 3 (``bench.apsched``): jobs are added in its process, through stdin."""

    name = "apscheduler"

    async def start(self) -> None:
        self.db_path = self.dir / "jobs.db"
        args = ["--db", f"sqlite:///{self.db_path}", "--api-url", self.telegram_url]
        args += ["--token", BENCH_TOKEN]
        worker = python_module("worker", "bench.apsched", args, self.dir, stdin=True)
        self.children["worker"] = worker
        await worker.wait_for_line("apscheduler ready", READY_TIMEOUT_S)
        self._replies = 0

    async def _command(
        self, command: dict[str, object], within: float = 600.0
    ) -> dict[str, list[float]]:
        self._replies += 1
        reply = self.dir / f"reply-{self._replies}.json"
        stdin = self.children["worker"].process.stdin
        assert stdin is not None
        stdin.write((json.dumps({**command, "reply": str(reply)}) + "\n").encode())
        stdin.flush()
        deadline = time.monotonic() + within
        while not reply.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("apscheduler did not answer:\n" + self.logs())
            await asyncio.sleep(0.02)
        answer: dict[str, list[float]] = json.loads(reply.read_text())
        return answer

    async def schedule(self, notices: Sequence[Notice]) -> list[float]:
        items = [[n.chat_id, n.due, n.text] for n in notices]
        return (await self._command({"op": "schedule", "items": items}))["latencies"]

    async def cancel(self, notice: Notice) -> None:
        text = f"cancelled {notice.chat_id}"
        await self._command({"op": "cancel", "chat_id": notice.chat_id, "text": text})

    def storage_files(self) -> list[Path]:
        return [self.db_path]


def make_system(name: str, workdir: Path, telegram_url: str, rate: float | None) -> System:
    """A system by its report name: booking-notify (and its variants, ``BookingNotify``),
    bare-temporal, polling, polling-60s, apscheduler."""
    if name == "booking-notify" or name.startswith("booking-notify+"):
        variant: type[BookingNotify] = type(name, (BookingNotify,), {"name": name})
        return variant(workdir, telegram_url, rate)
    if name == "booking-notify-metrics":
        return BookingNotifyMetrics(workdir, telegram_url, rate)
    if name == "bare-temporal":
        return BareTemporal(workdir, telegram_url, rate)
    if name == "apscheduler":
        return APScheduler(workdir, telegram_url, rate)
    if name == "polling":
        return Polling(workdir, telegram_url, rate)
    if name.startswith("polling-") and name.endswith("s"):
        return Polling(workdir, telegram_url, rate, check_interval=float(name[8:-1]))
    raise ValueError(f"unknown system {name!r}")


@contextlib.asynccontextmanager
async def running(
    name: str, workdir: Path, telegram_url: str, rate: float | None
) -> AsyncIterator[System]:
    """Start a system and stop it whatever happens."""
    system = make_system(name, workdir, telegram_url, rate)
    try:
        await system.start()
        yield system
    finally:
        await system.stop()
