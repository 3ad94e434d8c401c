"""History that follows the booking: sent messages are edited when it is cancelled, moved or over.

On the time-skipping server with the real workers (buttons signed), aiogram and the fake Bot API:
every edit is an activity on the rate-limited delivery queue; a refused edit is recorded once and
never retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_chats import Refusal, Reply, StoredMessage
from booking_notifications.testing.fake_telegram import FakeTelegram, RecordedRequest
from booking_notifications.worker.assembly import running_workers
from booking_notifications.workflows.activities import EDIT_RETRY
from tests.support.messages import struck
from tests.support.stack import Stack, api_only, settings_for, telegram_channel
from tests.support.waiting import eventually

H, M = timedelta(hours=1), timedelta(minutes=1)
EDIT_METHODS = ("editMessageText", "editMessageReplyMarkup")


@asynccontextmanager
async def signed_stack(
    env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> AsyncIterator[Stack]:
    """The API and both workers, signing buttons as a bot would (so notices carry them)."""
    settings = settings_for(db_url, task_queue).model_copy(
        update={"callback_secret": SecretStr("history-edits")}
    )
    channel = telegram_channel(telegram)
    async with (
        api_only(env, db_url, task_queue) as stack,
        running_workers(env.client, settings, channel),
    ):
        try:
            yield stack
        finally:
            await stack.terminate_running()


async def sent(s: Stack, booking_id: int, *keys: str) -> None:
    async def all_sent() -> bool:
        statuses = await s.statuses(booking_id)
        return all(statuses.get(key) is NoticeStatus.SENT for key in keys)

    await eventually(all_sent)


async def reminded(s: Stack, env: WorkflowEnvironment, chat_id: int) -> tuple[int, datetime]:
    """A booking 3 h ahead with a 2 h reminder, booked on the server's clock (its id and that
    moment), once the reminder is sent."""
    booking_id, now = await s.book(3 * H, chat_id=chat_id, reminders=[2 * H])
    await env.sleep(H + 30 * M)
    await sent(s, booking_id, "reminder_2h")
    return booking_id, now


def message_of(telegram: FakeTelegram, chat_id: int, message_id: int | None) -> StoredMessage:
    assert message_id is not None
    return telegram.message(chat_id, message_id)


@pytest.mark.parametrize(
    ("language", "mark"), [("en", "❌ Cancelled."), ("ru", "❌ Бронь отменена.")]
)
async def test_cancelling_after_two_reminders_strikes_both_in_the_users_language(
    time_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    language: str,
    mark: str,
) -> None:
    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        booking_id, _ = await s.book(3 * H, chat_id=4501, reminders=[2 * H, H], language=language)
        await time_env.sleep(2 * H + 30 * M)
        await sent(s, booking_id, "reminder_2h", "reminder_1h")
        await s.notifier.cancel(booking_id, reason="rain")
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    for key in ("reminder_2h", "reminder_1h"):
        message = message_of(telegram, 4501, rows[key].telegram_message_id)
        assert len(message.edits) == 1
        assert message.buttons() == [] and message.versions[0].reply_markup is not None
        assert message.text.endswith("\n" + mark) and struck(message)
        assert message.text.startswith(message.versions[0].text)  # the words it had, struck
        assert rows[key].edited_at is not None and rows[key].edit_error is None
    cancel = message_of(telegram, 4501, rows["cancel"].telegram_message_id)
    assert cancel.edits == []  # the cancellation notice itself is current


async def test_a_move_edits_the_old_reminder_and_the_new_one_carries_the_new_time(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        booking_id, now = await reminded(s, time_env, 4502)
        new_start = now + 27 * H
        await s.notifier.reschedule(booking_id, new_start, new_start + H)
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    old = message_of(telegram, 4502, rows["reminder_2h"].telegram_message_id)
    assert len(old.edits) == 1 and old.buttons() == []
    moved_line = old.text.rsplit("\n", 1)[1]
    assert moved_line.startswith("📅 Moved to ") and old.text.startswith(old.versions[0].text)
    dates = [e["unix_time"] for e in old.current.entities if e["type"] == "date_time"]
    assert int(new_start.timestamp()) in dates  # the new time, live, in the "moved to" line
    rearmed = next(k for k in rows if k.startswith("reminder_2h."))
    new = message_of(telegram, 4502, rows[rearmed].telegram_message_id)
    starts = [e["unix_time"] for e in new.current.entities if e.get("date_time_format") == "r"]
    assert starts == [int(new_start.timestamp())] and new.versions[0].reply_markup is not None
    assert new.buttons() == []  # and once the moved booking was over, it lost them too
    moved_notice = message_of(
        telegram, 4502, rows[next(k for k in rows if "moved" in k)].telegram_message_id
    )
    assert moved_notice.edits == []  # the move's own notice is current


async def test_after_the_end_the_reminder_and_start_notice_lose_their_buttons(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        booking_id, _ = await s.book(2 * H, H, chat_id=4503, reminders=[H])
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    for key in ("reminder_1h", "start"):
        message = message_of(telegram, 4503, rows[key].telegram_message_id)
        assert message.versions[0].reply_markup is not None and message.buttons() == []
        assert message.text == message.versions[0].text  # only the buttons went
    end = message_of(telegram, 4503, rows["end"].telegram_message_id)
    assert end.edits == []
    edits = [r for r in telegram.requests if r.method in EDIT_METHODS and r.chat_id == 4503]
    assert [r.method for r in edits] == ["editMessageReplyMarkup"] * 2


async def test_an_edit_telegram_refuses_is_recorded_once_and_never_retried(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        booking_id, _ = await reminded(s, time_env, 4504)
        reminder_id = (await s.rows(booking_id))["reminder_2h"].telegram_message_id
        assert reminder_id is not None
        telegram.user_deletes(4504, reminder_id)
        await s.notifier.cancel(booking_id)
        report = await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert report.cancelled
    row = rows["reminder_2h"]
    assert row.edited_at is not None and "message to edit not found" in (row.edit_error or "")
    tries = [r for r in telegram.requests if r.method in EDIT_METHODS and r.chat_id == 4504]
    assert len(tries) == 1 and tries[0].status == 400
    assert row.status is NoticeStatus.SENT  # the notice was sent: its edit is another matter


async def test_telegram_calls_per_booking_with_edits(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """The figures in BENCHMARKS.md: Telegram calls of one booking's full flows (-s prints)."""
    flows: dict[str, tuple[int, int]] = {}
    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        plain, _ = await s.book(27 * H, chat_id=4601)  # reminders 24h and 1h, start, end
        cancelled, _ = await s.book(3 * H, chat_id=4602, reminders=[2 * H, H])
        moved, now = await s.book(3 * H, chat_id=4603, reminders=[2 * H, H])
        await time_env.sleep(2 * H + 30 * M)
        await sent(s, cancelled, "reminder_2h", "reminder_1h")
        await sent(s, moved, "reminder_2h", "reminder_1h")
        await s.notifier.cancel(cancelled)
        await s.notifier.reschedule(moved, now + 27 * H, now + 28 * H)
        for booking_id in (plain, cancelled, moved):
            await s.result(booking_id)
    for name, chat in (("full flow", 4601), ("cancelled after 2 reminders", 4602), ("moved after 2 reminders, then its full flow", 4603)):  # fmt: skip
        calls = [r for r in telegram.requests if r.chat_id == chat and r.status == 200]
        sends = sum(r.method == "sendMessage" for r in calls)
        flows[name] = (sends, sum(r.method in EDIT_METHODS for r in calls))
    for name, (sends, edits) in flows.items():
        print(f"{name}: {sends} sends, {edits} edits ({edits / sends:.0%} more calls)")

    assert flows["full flow"] == (4, 3)  # the reminders and the start notice lose their buttons
    assert flows["cancelled after 2 reminders"] == (3, 2)
    assert flows["moved after 2 reminders, then its full flow"][1] >= 2


async def test_edits_while_telegram_refuses_every_edit_are_given_up_and_the_booking_finishes(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    def down(record: RecordedRequest, params: dict[str, object]) -> Reply:
        raise Refusal(502, "Bad Gateway")

    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        booking_id, _ = await reminded(s, time_env, 4505)
        telegram.methods["editMessageText"] = down
        await s.notifier.cancel(booking_id)
        report = await s.result(booking_id)
        rows = await s.rows(booking_id)

    tries = [r for r in telegram.requests if r.method == "editMessageText" and r.chat_id == 4505]
    assert report.cancelled and rows["cancel"].status is NoticeStatus.SENT
    assert len(tries) == EDIT_RETRY.maximum_attempts  # retried, a bounded number of times
    assert rows["reminder_2h"].edited_at is None  # never edited: the message stays as it was


async def test_buttons_the_end_notice_cannot_take_away_stay_and_the_booking_finishes(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """The end notice's delivery takes the buttons away as it goes, each tried once: an outage
    then leaves them (the bot refuses a tap on an ended booking), and the notice stays SENT."""

    def down(record: RecordedRequest, params: dict[str, object]) -> Reply:
        raise Refusal(502, "Bad Gateway")

    telegram.methods["editMessageReplyMarkup"] = down
    async with signed_stack(time_env, db_url, task_queue, telegram) as s:
        booking_id, _ = await s.book(2 * H, H, chat_id=4506, reminders=[H])
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    tries = [r for r in telegram.requests if r.method in EDIT_METHODS and r.chat_id == 4506]
    assert [(r.method, r.status) for r in tries] == [("editMessageReplyMarkup", 502)] * 2
    assert rows["end"].status is NoticeStatus.SENT
    assert rows["reminder_1h"].edited_at is None and rows["start"].edited_at is None
