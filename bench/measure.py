"""What a run measures: lateness at the fake Telegram server, losses, duplicates and memory.

Delivered time is the moment the fake Bot API accepted the message (status 200), never a time
the system reports about itself. Each notice has its own chat id, so a request maps to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.procs import cpu_seconds, rss
from bench.systems import Notice
from booking_notifications.testing.fake_telegram import FakeTelegram

MB = 1024 * 1024


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile by nearest rank (p99 of 100 values is the 99th); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5 - 1e-9)))
    return ordered[rank - 1]


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class Deliveries:
    """The accepted sends of a set of notices, read from the fake server's record."""

    first: dict[int, float]
    """chat id → wall time of its first 200."""
    counts: dict[int, int]
    rejected_429: int

    @classmethod
    def of(cls, telegram: FakeTelegram, chats: set[int]) -> Deliveries:
        first: dict[int, float] = {}
        counts: dict[int, int] = defaultdict(int)
        rejected = 0
        for request in list(telegram.requests):
            if request.chat_id not in chats or request.method != "sendMessage":
                continue
            if request.status == 200:
                counts[request.chat_id] += 1
                first.setdefault(request.chat_id, request.wall)
            elif request.status == 429:
                rejected += 1
        return cls(first, dict(counts), rejected)


def lateness_metrics(notices: Sequence[Notice], got: Deliveries) -> dict[str, Any]:
    """p50/p99/max lateness, delivered per second, lost and duplicated, and the raw series."""
    late = [
        (got.first[n.chat_id], got.first[n.chat_id] - n.due)
        for n in notices
        if n.chat_id in got.first
    ]
    lateness = [value for _, value in late]
    first_due = min(n.due for n in notices)
    last_delivery = max((t for t, _ in late), default=first_due)
    span = last_delivery - first_due
    return {
        "notices": len(notices),
        "delivered": len(late),
        "p50_s": rounded(quantile(lateness, 0.50)),
        "p99_s": rounded(quantile(lateness, 0.99)),
        "max_s": rounded(max(lateness, default=None) if lateness else None),
        "per_s": rounded(len(late) / span if span > 0 else None, 2),
        "lost": len(notices) - len(late),
        "duplicated": sum(1 for count in got.counts.values() if count > 1),
        "http_429": got.rejected_429,
        "series": [(round(t - first_due, 3), round(v, 3)) for t, v in sorted(late)],
    }


def latency_metrics(prefix: str, values: Sequence[float]) -> dict[str, float | None]:
    return {
        f"{prefix}_p50_s": rounded(quantile(values, 0.50), 4),
        f"{prefix}_p99_s": rounded(quantile(values, 0.99), 4),
    }


@dataclass
class MemorySampler:
    """Samples the RSS of each role's process every ``every`` seconds; keeps peaks and last."""

    pids: dict[str, int]
    every: float = 0.5
    peak: dict[str, int] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    cpu_first: dict[str, float] = field(default_factory=dict)
    cpu_last: dict[str, float] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        for role, pid in self.pids.items():
            value = rss(pid)
            self.last[role] = value
            self.peak[role] = max(self.peak.get(role, 0), value)
            seconds = cpu_seconds(pid)
            if seconds is not None:
                self.cpu_first.setdefault(role, seconds)
                self.cpu_last[role] = seconds

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> MemorySampler:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()

    def peaks_mb(self) -> dict[str, float]:
        return {f"peak_rss_{role}_mb": round(value / MB, 1) for role, value in self.peak.items()}

    def cpu_used(self) -> dict[str, float]:
        """CPU seconds (user + system) each role used while sampled: who was the bottleneck."""
        return {
            f"cpu_{role}_s": round(self.cpu_last[role] - self.cpu_first[role], 1)
            for role in self.cpu_last
        }
