"""The real worker while Telegram misbehaves: what it logs, how often it calls, what it keeps.

A failed attempt that will be retried (an outage, flood control, a refused bot) is expected: it is
one line, not the Temporal SDK's "Completing activity as failed" WARNING with a traceback, which
a 30 s outage would repeat dozens of times. A traceback is for what nobody expected.

A refused token stops every notice until an operator acts: one alarm, notices kept and retried
every few minutes rather than hammered, and sent once the token works again.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.activities import notices
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram, RecordedRequest
from tests.support.bookings import booking
from tests.support.stack import Stack, booking_stack
from tests.support.waiting import eventually

pytestmark = pytest.mark.backends("sqlite")

S, HOUR = timedelta(seconds=1), timedelta(hours=1)


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


async def test_a_revoked_token_costs_a_24h_reminder_about_a_dozen_calls_not_65(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The reminder may go out for an hour, and is retried 5 min past that: every 5 minutes, it
    is 14 calls; with the policy's backoff (at most a minute apart) it was about 65."""
    caplog.set_level(logging.INFO)
    async with FakeTelegram(global_rate=None, per_chat_rate=None) as telegram:
        channel = TelegramChannel(telegram.token, telegram.url)
        telegram.token = "123456:REVOKED"
        async with booking_stack(time_env, db_url, task_queue, channel) as s:
            now = await time_env.get_current_time()
            request = booking(
                25 * HOUR, HOUR, now=now, reminders=[24 * HOUR], chat_id=53,
                start_notice=False, end_notice=False,
            )  # fmt: skip
            booking_id = await s.notifier.schedule(request)
            await s.result(booking_id)
            [row] = (await s.rows(booking_id)).values()

    print(
        f"calls to Telegram for one 24 h reminder while it refuses the token: {telegram.count(401)}"
    )
    assert row.status is NoticeStatus.FAILED and "401" in (row.last_error or "")
    assert 12 <= telegram.count(401) <= 14 and telegram.sent == []
    alarms = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(alarms) == 1 and "TELEGRAM_BOT_TOKEN" in alarms[0].getMessage()


async def test_notices_held_by_a_refused_token_go_out_once_it_is_fixed(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notices, "MISCONFIGURED_RETRY", 2 * S)  # five minutes, in a test
    caplog.set_level(logging.INFO)
    async with FakeTelegram(global_rate=None, per_chat_rate=None) as telegram:
        token = telegram.token
        channel = TelegramChannel(token, telegram.url)
        telegram.token = "123456:REVOKED"
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            ids = [
                await s.notifier.schedule(booking(S, HOUR, reminders=[], end_notice=False, chat_id=chat))
                for chat in (54, 55)
            ]  # fmt: skip
            await eventually(lambda: _refused_twice(telegram))
            telegram.token = token  # the operator fixed it (here: Telegram accepts it again)
            for booking_id in ids:
                await eventually(functools.partial(sent, s, booking_id), within=60)
                await s.handle(booking_id).terminate()

    alarms = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    recoveries = [
        r.getMessage() for r in caplog.records if "accepts the bot again" in r.getMessage()
    ]
    assert len(alarms) == 1 and len(recoveries) == 1
    assert len(telegram.sent) == 2


async def _refused_twice(telegram: FakeTelegram) -> bool:
    return telegram.count(401) >= 2
