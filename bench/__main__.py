"""``python -m bench [--quick] [--json]``: run the benchmark and print the results.

Without ``--json`` it prints Markdown tables (as pasted into BENCHMARKS.md). ``--raw FILE``
keeps everything including each notice's lateness, ``--plots DIR`` draws the PNGs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from bench import report
from bench.run import Options, run, stderr_progress
from bench.workloads import FULL, QUICK

SYSTEMS = ("booking-notify", "bare-temporal", "polling", "apscheduler")
ALL_WORKLOADS = ("steady", "burst", "second", "cancel", "uncapped", "scale")


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes, under 5 minutes")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--systems",
        type=_list,
        help=f"comma-separated; default {','.join(SYSTEMS)} (+ polling-60s without --quick)",
    )
    p.add_argument("--workloads", type=_list, default=list(ALL_WORKLOADS))
    p.add_argument(
        "--scale", type=lambda v: tuple(int(x) for x in _list(v)), help="e.g. 1000,10000,100000"
    )
    p.add_argument(
        "--rounds", type=int, help="uncapped bursts of booking-notify and bare Temporal (odd)"
    )
    p.add_argument("--rate", type=float, default=30.0, help="DELIVERY_RATE_PER_SECOND when capped")
    p.add_argument("--raw", type=Path, help="write the full report (with series) here")
    p.add_argument("--plots", type=Path, help="write lateness PNGs into this folder")
    p.add_argument("--workdir", type=Path, help="where the throwaway folders go (default /tmp)")
    p.add_argument("--from-raw", type=Path, help="run nothing: report a file written by --raw")
    return p


def main() -> None:
    args = parser().parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    if args.scale:
        sizes = replace(sizes, scale=args.scale)
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    systems = args.systems or [*SYSTEMS, *(() if args.quick else ("polling-60s",))]
    options = Options(systems, sizes, args.rate, args.workloads, args.workdir)
    if args.from_raw:
        result = json.loads(args.from_raw.read_text())
    else:
        result = asyncio.run(run(options, stderr_progress))
    if args.raw:
        args.raw.write_text(json.dumps(result))
    if args.plots:
        for path in report.plots(result, args.plots):
            stderr_progress(f"wrote {path}")
    if args.json:
        print(json.dumps(report.summary(result), indent=1))
    else:
        print(report.markdown(result))
        print(json.dumps(report.summary(result)["ratios"], indent=1))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # temporalio/sdk-python#300: leave without interpreter teardown


if __name__ == "__main__":
    main()
