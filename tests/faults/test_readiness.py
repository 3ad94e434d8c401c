"""/readyz says whether the worker can work: it fails while Temporal is down and recovers once
the worker polls again, while /healthz (the process is alive) answers throughout."""

from __future__ import annotations

from pathlib import Path

import pytest

from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.processes import TemporalDevServer
from tests.faults.scene import fault_scene, stopped_cleanly
from tests.support.processes import Children, free_port
from tests.support.scrape import get
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("sqlite")]


@pytest.mark.timeout(180)
async def test_readyz_fails_while_temporal_is_down_and_recovers_after_it(
    db_url: str,
    task_queue: str,
    paced_telegram: FakeTelegram,
    children: Children,
    tmp_path: Path,
) -> None:
    server = TemporalDevServer(children, tmp_path / "temporal")
    env = await server.started()
    base = f"http://127.0.0.1:{free_port()}"
    try:
        async with fault_scene(env, db_url, task_queue, children, paced_telegram.url) as scene:
            worker = await scene.start_worker(METRICS_ADDRESS=base.removeprefix("http://"))
            assert await get(f"{base}/readyz") == (200, "ready\n")

            await server.kill()
            status, body = await get(f"{base}/readyz")
            assert status == 503, body
            assert body.startswith("temporal: Temporal does not answer"), body
            assert "database" not in body  # the database is fine: only what fails is named
            assert await get(f"{base}/healthz") == (200, "ok\n")
            assert worker.alive, worker.tail()

            await server.start()

            async def ready() -> bool:
                return (await get(f"{base}/readyz"))[0] == 200

            await eventually(ready, within=60)
            await stopped_cleanly(worker)
    finally:
        await server.stop()
