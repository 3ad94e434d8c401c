"""What ``METRICS_ADDRESS`` shows of a real worker: ``booking-notify worker`` as its own process,
scraped over HTTP after it delivered a few notices, with the SDK's metrics beside ours."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.observe import metrics
from booking_notifications.testing.fake_chats import TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.processes import TEST_TOKEN
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.bookings import booking
from tests.support.cli import CLI, stack_env
from tests.support.processes import Children, free_port
from tests.support.scrape import get, scrape
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("sqlite")]

LEAD = timedelta(seconds=6)
CHATS = 660_000
BLOCKED = 669_999
USER = TelegramUser(id=661_001, first_name="Ann", language_code="en")
SENT, FAILED, SKIPPED = NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SKIPPED


@pytest.mark.timeout(120)
async def test_metrics_after_a_small_run_count_3_sent_1_failed_1_skipped_and_their_lateness(
    scene: FaultScene,
    paced_telegram: FakeTelegram,
) -> None:
    paced_telegram.blocked.add(BLOCKED)
    base = f"http://127.0.0.1:{free_port()}"
    worker = await scene.start_worker(METRICS_ADDRESS=base.removeprefix("http://"))
    assert await get(f"{base}/healthz") == (200, "ok\n")
    now = datetime.now(UTC)
    await scene.schedule(
        [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(3)]
        # Blocked: its start notice FAILS and marks the user unreachable, so its end
        # notice, two seconds later, is SKIPPED by the delivery.
        + [booking(LEAD, timedelta(seconds=2), now=now, chat_id=BLOCKED, reminders=[])]
    )
    await eventually(scene.counted(SENT, 3), within=60)
    await eventually(scene.counted(SKIPPED, 1), within=30)
    await eventually(scene.counted(FAILED, 1), within=5)
    scraped = await scrape(base)
    ready = await get(f"{base}/readyz")
    await stopped_cleanly(worker)

    notices = metrics.NOTICES + "_total"
    assert scraped.value(notices, kind="start", status="SENT") == 3
    assert scraped.value(notices, kind="start", status="FAILED") == 1
    assert scraped.value(notices, kind="end", status="SKIPPED") == 1
    assert scraped.value(notices) == 5
    lateness = metrics.LATENESS
    assert scraped.value(lateness + "_count", kind="start") == 3
    assert 0 < scraped.value(lateness + "_sum", kind="start") < 3 * 30
    buckets = {s.labels["le"] for s in scraped.find(lateness + "_bucket", kind="start")}
    assert {"0.1", "3600", "+Inf"} <= buckets, buckets  # reminder buckets, not the web's
    assert scraped.value(lateness + "_bucket", kind="start", le="+Inf") == 3
    assert scraped.value(metrics.TELEGRAM_ERRORS + "_total", error="unreachable") == 1
    assert scraped.value(metrics.TELEGRAM_ERRORS + "_total") == 1
    assert scraped.value(metrics.UNREACHABLE + "_total") == 1
    assert scraped.find(metrics.DUE_NOT_SENT) and scraped.value(metrics.DUE_NOT_SENT) == 0
    # The SDK's own, in seconds and with _total suffixes.
    assert scraped.value("temporal_activity_execution_latency_seconds_count") >= 5
    assert scraped.value("temporal_workflow_task_execution_latency_seconds_count") > 0
    assert any(n.startswith("temporal_") and n.endswith("_total") for n in scraped.names())
    assert not any(n.endswith("_milliseconds_count") for n in scraped.names())
    # No chat id, booking id or token anywhere.
    for secret in (str(BLOCKED), str(CHATS), TEST_TOKEN.partition(":")[2]):
        assert secret not in scraped.text
    labels = {key for s in scraped.samples for key in s.labels}
    assert not any("chat" in key or "booking" in key or "title" in key for key in labels), labels
    assert ready == (200, "ready\n"), ready


@pytest.mark.timeout(120)
async def test_the_bot_counts_updates_and_refused_taps_and_answers_its_health_checks(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    paced_telegram: FakeTelegram,
    children: Children,
) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    env = stack_env(
        dev_env.client,
        db_url,
        task_queue,
        TELEGRAM_BOT_TOKEN=paced_telegram.token,
        TELEGRAM_API_URL=paced_telegram.url,
        METRICS_ADDRESS=base.removeprefix("http://"),
    )
    bot = children.start("bot", [CLI, "bot"], env=env, cwd=children.folder)
    await bot.wait_for_line("receiving updates by long polling", 60)
    await paced_telegram.user_says(USER.id, "/start", USER)
    await paced_telegram.wait_until(lambda: paced_telegram.messages_to(USER.id), 30)
    reply = paced_telegram.messages_to(USER.id)[0]
    forged = paced_telegram.queue_update(
        {
            "callback_query": {
                "id": "forged-1",
                "from": {"id": USER.id, "is_bot": False, "first_name": USER.first_name},
                "message": reply.to_json(),
                "chat_instance": "1",
                "data": "not-our-data",
            }
        }
    )
    query_id = str(forged["callback_query"]["id"])
    await paced_telegram.wait_until(lambda: paced_telegram.callback_query(query_id).answered, 30)
    scraped = await scrape(base)
    ready = await get(f"{base}/readyz")
    assert await bot.stop(signal.SIGTERM) == 0, bot.tail()

    assert scraped.value(metrics.BOT_UPDATES + "_total") == 2
    assert scraped.value(metrics.BOT_TAPS_REFUSED + "_total", reason="not_valid") == 1
    assert scraped.value(metrics.BOT_TAPS_REFUSED + "_total") == 1
    assert scraped.find(metrics.BOT_WEBHOOK_REFUSED + "_total")  # there, at 0: no webhook
    assert scraped.value("temporal_request_total") > 0  # the SDK's, from the bot's client
    assert str(USER.id) not in scraped.text
    assert ready == (200, "ready\n"), ready
