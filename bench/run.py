"""One benchmark run: every system through every workload, one after another on this machine.

Systems never run at the same time (they would share the 2 cores). Each system is started fresh
with the Telegram cap (steady, burst, cancel); then each runs the uncapped burst on a fresh stack
without any cap, booking-notify and bare Temporal ``Sizes.rounds`` times in alternation (the
table shows the median run); scale gets a fresh booking-notify stack. The fake Telegram server
lives in this process for the whole run.
"""

from __future__ import annotations

import compileall
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench import workloads
from bench.systems import BookingNotify, System, running
from bench.workloads import Sizes
from booking_notifications.testing.fake_telegram import FakeTelegram

log = logging.getLogger("bench")

TELEGRAM_CAP = 30
ONE_SECOND = 300
"""Notices of the "due in one second" workload (issue 20: at the cap, without floods)."""
"""Telegram's broadcast limit, enforced by the fake server in capped runs."""
ROUNDED = ("booking-notify", "booking-notify+pg", "bare-temporal", "booking-notify-metrics")
"""The systems whose uncapped ratio is a target (to bare Temporal; with metrics to without):
measured ``Sizes.rounds`` times each, alternating."""


@dataclass(frozen=True)
class Options:
    systems: Sequence[str]
    sizes: Sizes
    rate: float
    """DELIVERY_RATE_PER_SECOND (and the bare worker's queue limit) in capped runs."""
    workloads: Sequence[str]
    workdir: Path | None = None


async def _capped_burst(system: System, telegram: FakeTelegram, sizes: Sizes) -> dict[str, Any]:
    return await workloads.burst(system, telegram, sizes.burst, TELEGRAM_CAP)


async def _one_second(system: System, telegram: FakeTelegram, sizes: Sizes) -> dict[str, Any]:
    return await workloads.within_a_second(system, telegram, ONE_SECOND, TELEGRAM_CAP)


CAPPED: dict[str, Callable[[System, FakeTelegram, Sizes], Awaitable[dict[str, Any]]]] = {
    "steady": workloads.steady,
    "burst": _capped_burst,
    "second": _one_second,
    "cancel": workloads.cancel,
}


def compile_bytecode() -> None:
    """Write the .pyc files a wheel install writes, for every system's code alike.

    Temporal's sandbox re-imports a workflow's module for each new workflow instance; without
    cached bytecode (an editable install under ``PYTHONDONTWRITEBYTECODE``, as on this machine)
    every instance compiles it from source, which measured 55 % of instance creation. A deployed
    worker (``pip install .``, the Dockerfile) has the bytecode; so does the benchmark.
    """
    import bench
    import booking_notifications

    for package in (bench, booking_notifications):
        compileall.compile_dir(package.__path__[0], quiet=1)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def run(options: Options, progress: Callable[[str], None]) -> dict[str, Any]:
    """All runs; the result is the JSON the CLI prints (plus raw lateness series)."""
    began = time.time()
    compile_bytecode()
    report: dict[str, Any] = {
        "meta": {
            "machine": machine(),
            "sizes": asdict(options.sizes),
            "telegram_cap": TELEGRAM_CAP,
            "delivery_rate": options.rate,
        },
        "systems": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-", dir=options.workdir) as tmp:
        workdir = Path(tmp)
        async with FakeTelegram(global_rate=TELEGRAM_CAP, per_chat_rate=1) as telegram:
            for name in options.systems:
                results: dict[str, Any] = {}
                report["systems"][name] = results
                capped = [w for w in CAPPED if w in options.workloads]
                if not capped:
                    continue
                telegram.global_rate, telegram.per_chat_rate = TELEGRAM_CAP, 1
                async with running(name, workdir, telegram.url, options.rate) as system:
                    for workload in capped:
                        progress(f"{name}: {workload}")
                        outcome = await CAPPED[workload](system, telegram, options.sizes)
                        if outcome:
                            results[workload] = outcome
            if "uncapped" in options.workloads:
                telegram.global_rate, telegram.per_chat_rate = None, None
                for name, runs in (
                    await _uncapped_rounds(options, workdir, telegram, progress)
                ).items():
                    report["systems"][name]["uncapped"] = workloads.median_run(runs)
            scaled = [n for n in options.systems if n.startswith("booking-notify")]
            for name in scaled if "scale" in options.workloads else []:
                telegram.global_rate, telegram.per_chat_rate = TELEGRAM_CAP, 1
                async with running(name, workdir, telegram.url, options.rate) as system:
                    assert isinstance(system, BookingNotify)
                    progress(f"{name}: scale {options.sizes.scale}")
                    timeout = 120 + options.sizes.scale[-1] / 20
                    steps = await workloads.scale(system, options.sizes.scale, timeout)
                    # The first variant's steps keep the report's old place (the plots read it).
                    report.setdefault("scale", steps)
                    report.setdefault("scale_by_system", {})[name] = steps
    report["meta"]["took_s"] = round(time.time() - began, 1)
    return report


async def _uncapped_rounds(
    options: Options, workdir: Path, telegram: FakeTelegram, progress: Callable[[str], None]
) -> dict[str, list[dict[str, Any]]]:
    """Every system's uncapped burst on a fresh stack; the systems with a ratio target run
    ``rounds`` times, alternating, in reversed order every other round, so that drift in the
    machine's load falls on both alike."""
    # The 60 s loop sends 50 a minute whatever the cap: an uncapped burst says nothing new.
    names = [n for n in options.systems if n != "polling-60s"]
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for number in range(options.sizes.rounds):
        order = names if number == 0 else [n for n in names if n in ROUNDED]
        for name in order if number % 2 == 0 else order[::-1]:
            progress(f"{name}: uncapped burst, round {number + 1}")
            async with running(name, workdir, telegram.url, None) as system:
                runs[name].append(
                    await workloads.burst(system, telegram, options.sizes.uncapped, None)
                )
    return runs


def stderr_progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
