"""What the real worker's log says while Telegram misbehaves: one line per expected failure.

A failed attempt that will be retried (an outage, flood control, a refused bot) is expected: it is
one line, not the Temporal SDK's "Completing activity as failed" WARNING with a traceback, which
a 30 s outage would repeat dozens of times. A traceback is for what nobody expected.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.fake_telegram import FakeTelegram, RecordedRequest
from booking_notifications.workflows.types import NoticeStatus
from tests.stack import Stack, booking, booking_stack, eventually

S, HOUR = timedelta(seconds=1), timedelta(hours=1)


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def sent(stack: Stack, booking_id: int) -> bool:
    return {r.status for r in (await stack.rows(booking_id)).values()} == {NoticeStatus.SENT}


def failed_send(request: RecordedRequest) -> bool:
    return request.method == "sendMessage" and request.status != 200


async def test_an_outage_is_one_log_line_per_failed_attempt_and_no_traceback(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what `booking-notify worker` shows, and Temporal's INFO too
    async with FakeTelegram(global_rate=None, per_chat_rate=None) as telegram:
        channel = TelegramChannel(telegram.token, telegram.url)
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            telegram.fail_for(5)
            booking_id = await s.notifier.schedule(
                booking(S, HOUR, reminders=[], end_notice=False, chat_id=51)
            )
            await eventually(functools.partial(sent, s, booking_id), within=60)
            await s.handle(booking_id).terminate()
        failures = [r for r in telegram.requests if failed_send(r)]

    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert not [r for r in caplog.records if "Completing activity as failed" in r.getMessage()]
    retried = [r for r in caplog.records if "not sent, retried" in r.getMessage()]
    assert len(failures) >= 2  # the outage outlasted a retry, so the retry path was logged
    assert len(retried) == len(failures)
    assert all(r.levelno == logging.WARNING and "502" in r.getMessage() for r in retried)
    assert all("\n" not in r.getMessage() for r in retried)


async def test_flood_control_is_one_quiet_line_per_429(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeTelegram(global_rate=None, per_chat_rate=1) as telegram:
        channel = TelegramChannel(telegram.token, telegram.url)
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            ids = [
                await s.notifier.schedule(
                    booking(S, HOUR, reminders=[], end_notice=False, chat_id=52)
                )
                for _ in range(3)
            ]  # three start notices to one chat in the same second: 429s
            for booking_id in ids:
                await eventually(functools.partial(sent, s, booking_id), within=60)
                await s.handle(booking_id).terminate()

    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    retried = [r for r in caplog.records if "not sent, retried" in r.getMessage()]
    assert telegram.count(429) >= 1 and len(retried) == telegram.count(429)
    assert all(r.levelno == logging.INFO and "retried in" in r.getMessage() for r in retried)
