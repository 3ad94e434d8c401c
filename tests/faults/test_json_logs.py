"""``LOG_FORMAT=json``: the worker writes one JSON object a line, a delivery's lines carry the
booking id and the notice key, and no line carries the token, a chat id or a title."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.processes import TEST_TOKEN
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("sqlite")]

CHAT = 680_001
TITLE = "Dentist appointment Zq7"
PRINTED = ("Worker on task queue", "Stopping…")
"""What the worker prints for a person (standard output), not through logging."""


@pytest.mark.timeout(120)
async def test_json_logs_carry_the_notice_and_never_the_token_a_chat_id_or_a_title(
    scene: FaultScene,
    paced_telegram: FakeTelegram,
) -> None:
    worker = await scene.start_worker(LOG_FORMAT="json")
    request = replace(
        start_notice_only(timedelta(seconds=2), now=datetime.now(UTC), chat_id=CHAT),
        title=TITLE,
    )
    paced_telegram.fail_for(4)  # the first attempt meets a 502: a warning, then a retry
    await scene.schedule([request])
    await eventually(scene.counted(NoticeStatus.SENT, 1), within=60)
    await stopped_cleanly(worker)
    log = worker.log()

    lines = [line for line in log.splitlines() if line and not line.startswith(PRINTED)]
    entries = [json.loads(line) for line in lines]  # every logged line is one JSON object
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    retried = [e for e in entries if "not sent, retried" in e["message"]]
    assert retried, lines
    booking_id = int(scene.workflow_ids[0].removeprefix(f"{scene.stack.task_queue}-"))
    assert {(e["booking_id"], e["notice"], e["level"]) for e in retried} == {
        (booking_id, "start", "WARNING")
    }
    for secret in (TEST_TOKEN.partition(":")[2], str(CHAT), TITLE):
        assert secret not in log
