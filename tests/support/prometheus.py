"""The real Prometheus (Debian's ``prometheus`` package), started by a test on a free port with
the shipped scrape configuration and alert rules, and asked through its HTTP API.

What a test changes in the shipped files it says by exact text (``override``): the scrape
targets, the intervals, an alert's ``for:``; a replacement whose text is no longer in the file
fails, so the test cannot drift away from what is shipped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.postgres import unavailable
from tests.support.processes import Child, Children, free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "booking-notifications.json"


def prometheus_binary() -> str:
    """The ``prometheus`` server; skipped without it, failed under CI=true."""
    found = shutil.which("prometheus")
    if found is None:
        unavailable("no prometheus binary", "apt-get install prometheus; .ci/run does")
    return found


def override(text: str, replacements: dict[str, str]) -> str:
    """``text`` with each key replaced by its value; every key must be there."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the shipped file"
        text = text.replace(old, new)
    return text


class Prometheus:
    """A Prometheus server of the test's own, its data in a temporary folder."""

    def __init__(self, children: Children, folder: Path) -> None:
        self.children = children
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.child: Child | None = None

    async def start(self, config: str, rules: str, within: float = 30.0) -> None:
        binary = prometheus_binary()
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "prometheus.yml").write_text(config)
        (self.folder / RULES.name).write_text(rules)
        self.child = self.children.start(
            "prometheus",
            [binary, f"--config.file={self.folder / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip

        async def ready() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"{self.url}/-/ready") as answer,
                ):
                    return answer.status == 200
            except aiohttp.ClientError:
                return False

        await self.child.until_ready(ready, within, every=0.2)

    async def api(self, path: str, **params: str) -> Any:
        """The ``data`` of a successful API answer."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(f"{self.url}/api/v1/{path}", params=params) as answer,
        ):
            body = json.loads(await answer.text())
        assert body.get("status") == "success", body
        return body["data"]

    async def firing(self) -> set[str]:
        """The names of the alerts firing now."""
        alerts = (await self.api("alerts"))["alerts"]
        return {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        data = await self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    async def targets_up(self) -> int:
        data = await self.api("targets")
        return sum(1 for t in data["activeTargets"] if t["health"] == "up")


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel of the shipped dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]
