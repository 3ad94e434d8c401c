"""/readyz says whether the worker can work: it fails while Temporal is down and recovers once
the worker polls again, while /healthz (the process is alive) answers throughout."""

from __future__ import annotations

import pytest

from tests.faults.processes import TemporalDevServer
from tests.faults.scene import FaultScene, stopped_cleanly
from tests.support.processes import free_port
from tests.support.scrape import get
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("sqlite")]


@pytest.mark.timeout(180)
async def test_readyz_fails_while_temporal_is_down_and_recovers_after_it(
    own_temporal: TemporalDevServer, own_scene: FaultScene
) -> None:
    server, scene = own_temporal, own_scene
    base = f"http://127.0.0.1:{free_port()}"
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
