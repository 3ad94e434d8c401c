"""Turning a run into output: the JSON summary, Markdown tables, ratios and lateness plots."""

from __future__ import annotations

import copy
import math
import statistics
from pathlib import Path
from typing import Any

WORKLOAD_TITLES = {
    "steady": "steady",
    "burst": "capped burst",
    "second": "300 due in one second",
    "uncapped": "uncapped burst",
}
RATIO_PEERS = ("bare-temporal", "polling", "polling-60s", "apscheduler")


def drain(report: dict[str, Any]) -> None:
    """Add ``drain_s`` to the capped bursts, and the best drain the cap allows.

    The fake server allows ``cap`` messages in any sliding second, so ``n`` messages need at
    least ``ceil(n / cap) - 1`` seconds after the due moment: a sender that fires blocks of 30
    at once can show more than 30 "per second" over a short burst.
    """
    cap = report["meta"]["telegram_cap"]
    for workloads in report["systems"].values():
        for burst in (workloads.get("burst"), workloads.get("second")):
            if not burst or not burst.get("series"):
                continue
            burst["drain_s"] = max(t for t, _ in burst["series"])
            burst["ideal_drain_s"] = math.ceil(burst["notices"] / cap) - 1
            burst["share_of_ideal"] = round(burst["ideal_drain_s"] / burst["drain_s"], 3)
            tried = burst["delivered"] + burst["http_429"]
            burst["share_429"] = round(burst["http_429"] / tried, 4) if tried else None


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the per-notice series (those are for the plots)."""
    drain(report)
    slim = copy.deepcopy(report)
    for workloads in slim["systems"].values():
        for result in workloads.values():
            result.pop("series", None)
    slim["ratios"] = ratios(report)
    return slim


def ratios(report: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """booking-notify relative to each peer: throughput ours/theirs, p99 lateness ours/theirs."""
    systems = report["systems"]
    ours = systems.get("booking-notify", {})
    out: dict[str, dict[str, float | None]] = {}
    for peer in RATIO_PEERS:
        theirs = systems.get(peer)
        if not theirs:
            continue
        for workload in ("steady", "burst", "uncapped"):
            a, b = ours.get(workload, {}), theirs.get(workload, {})
            out.setdefault(peer, {})[f"{workload}_per_s"] = _ratio(a.get("per_s"), b.get("per_s"))
            out[peer][f"{workload}_p99"] = _ratio(a.get("p99_s"), b.get("p99_s"))
        paired = _paired(ours.get("uncapped", {}), theirs.get("uncapped", {}))
        if paired is not None:
            out[peer]["uncapped_per_s_paired"] = paired
    return out


def _paired(ours: dict[str, Any], theirs: dict[str, Any]) -> float | None:
    """Median over rounds of ours ÷ theirs within the round: the rounds alternate, so each pair
    ran under the same load, which a ratio of the two medians does not see."""
    a, b = ours.get("rounds_per_s"), theirs.get("rounds_per_s")
    if not a or not b or len(a) != len(b):
        return None
    pairs = [r for x, y in zip(a, b, strict=True) if (r := _ratio(x, y)) is not None]
    return round(statistics.median(pairs), 2) if pairs else None


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    """One table per workload, one row per system; then cancel and scale tables."""
    drain(report)
    lines: list[str] = []
    columns = [
        ("notices", "notices"),
        ("p50_s", "p50 s"),
        ("p99_s", "p99 s"),
        ("max_s", "max s"),
        ("per_s", "per s"),
        ("lost", "lost"),
        ("duplicated", "dup"),
        ("http_429", "429s"),
        ("share_of_cap", "of cap"),
        ("share_429", "429 share"),
        ("schedule_p50_s", "sched p50 s"),
        ("schedule_p99_s", "sched p99 s"),
        ("peak_rss_worker_mb", "worker MB"),
        ("peak_rss_server_mb", "server MB"),
        ("rounds_per_s", "per s, every round"),
    ]
    for workload, title in WORKLOAD_TITLES.items():
        rows = {n: w[workload] for n, w in report["systems"].items() if workload in w}
        if not rows:
            continue
        lines += [f"**{title}**", "", "| system | " + " | ".join(c[1] for c in columns) + " |"]
        lines.append("|---" * (len(columns) + 1) + "|")
        for name, result in rows.items():
            cells = [_cell(result.get(key)) for key, _ in columns]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    cancels = {n: w["cancel"] for n, w in report["systems"].items() if "cancel" in w}
    if cancels:
        lines += ["**cancel → cancellation notice**", "", "| system | p50 s | p99 s | lost |"]
        lines.append("|---|---|---|---|")
        for name, c in cancels.items():
            row = [c["cancel_to_notice_p50_s"], c["cancel_to_notice_p99_s"], c["cancel_lost"]]
            lines.append(f"| {name} | " + " | ".join(_cell(v) for v in row) + " |")
        lines.append("")
    scaled = report.get("scale_by_system") or (
        {"booking-notify": report["scale"]} if report.get("scale") else {}
    )
    for name, steps in scaled.items():
        keys = list(steps[0])
        lines += [f"**scale ({name}, sleeping bookings)**", ""]
        lines += ["| " + " | ".join(keys) + " |", "|---" * len(keys) + "|"]
        for step in steps:
            lines.append("| " + " | ".join(_cell(step.get(k)) for k in keys) + " |")
        lines.append("")
    return "\n".join(lines)


def plots(report: dict[str, Any], folder: Path) -> list[Path]:
    """One PNG per system: lateness of every notice against its delivery time, per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, workloads in report["systems"].items():
        present = [w for w in WORKLOAD_TITLES if workloads.get(w, {}).get("series")]
        if not present:
            continue
        fig, axes = plt.subplots(1, len(present), figsize=(4 * len(present), 3), squeeze=False)
        for ax, workload in zip(axes[0], present, strict=True):
            series = workloads[workload]["series"]
            ax.scatter([t for t, _ in series], [v for _, v in series], s=3)
            result = workloads[workload]
            ax.set_title(
                f"{WORKLOAD_TITLES[workload]}: p99 {result['p99_s']} s, lost {result['lost']}",
                fontsize=8,
            )
            ax.set_xlabel("delivered, s after first due", fontsize=8)
            ax.set_ylabel("lateness, s", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        fig.suptitle(f"{name}: lateness over time", fontsize=9)
        fig.tight_layout()
        path = folder / f"lateness-{name}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written
