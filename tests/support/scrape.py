"""Reading a process's /metrics, /healthz and /readyz as Prometheus and a probe would."""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Exposition:
    """The samples of one scrape, and its text."""

    text: str
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples carrying ``labels`` (0 when there is none)."""
        return sum(s.value for s in self.find(name, **labels))

    def find(self, name: str, **labels: str) -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def names(self) -> set[str]:
        return {s.name for s in self.samples}


def parse(text: str) -> Exposition:
    """The Prometheus text format (0.0.4): one sample a line, comments skipped."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise AssertionError(f"not a sample line: {line!r}")
        labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
        samples.append(Sample(match["name"], labels, float(match["value"])))
    return Exposition(text, samples)


async def get(url: str) -> tuple[int, str]:
    """The status and body of a GET (a refused connection raises ``aiohttp.ClientError``)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.get(url) as answer,
    ):
        return answer.status, await answer.text()


async def scrape(base: str) -> Exposition:
    status, text = await get(f"{base}/metrics")
    assert status == 200, (status, text)
    return parse(text)
