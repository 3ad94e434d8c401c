"""Two-way Telegram end to end, on the dev server and the fake Bot API: a person connects with a
link, gets a reminder with buttons, confirms or cancels from it, chooses what to receive; forged,
foreign, stranger's and replayed taps, used links and unsigned webhook calls change nothing.

The worker sends through aiogram to the fake; the bot polls the fake with aiogram and its
Dispatcher; the people are played by the fake (``user_follows_link``, ``user_says``,
``user_taps``), so every update arrives in Telegram's own shapes."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier
from booking_notifications.bot import BotConflict
from booking_notifications.bot.run import running_bot, webhook_secret
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.testing.fake_chats import StoredMessage, TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bot_world import (
    ANN,
    BOB,
    CANCEL,
    CONFIRM,
    MALLORY,
    YES,
    World,
    connect,
    world,
)
from tests.support.cli import CLI, cli_env, iso, run_cli, stack_env
from tests.support.stack import settings_for

pytestmark = pytest.mark.backends("sqlite")  # the bot's flows; test_people covers both databases


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(per_chat_rate=None, global_rate=None) as server:
        yield server


@pytest.mark.slow
async def test_link_start_book_and_confirm_from_the_reminder(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    async with world(dev_env, db_url, task_queue, fake) as w:
        await connect(w, ANN, "ann")
        booking_id = await w.book("ann", 8, "--reminders", "5s")
        reminder = await w.message_with(ANN.id, "⏰")
        labels = [b.text for b in reminder.buttons()]  # before any edit
        answer = await w.tap(reminder, CONFIRM)
        again = await w.tap(w.fake.message(ANN.id, reminder.message_id), CONFIRM)
        status = await w.cli("status", str(booking_id))

    assert labels == [CONFIRM, CANCEL]
    assert answer == "Thanks, see you there!" and again == "Already confirmed."
    assert status["confirmed_at"] is not None and status["user_ref"] == "ann"
    edited = w.fake.message(ANN.id, reminder.message_id)
    assert edited.text.endswith("✅ You confirmed: you'll be there.")
    assert [b.text for b in edited.buttons()] == [CONFIRM, CANCEL]
    assert w.fake.unanswered_callbacks() == []


@pytest.mark.slow
async def test_cancel_from_the_reminder_asks_first_then_cancels_once(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    async with world(dev_env, db_url, task_queue, fake) as w:
        await connect(w, BOB, "bob")
        booking_id = await w.book("bob", 8, "--reminders", "5s", "--lang", "ru")
        reminder = await w.message_with(BOB.id, "⏰")
        await w.tap(reminder, "❌ Отменить бронь", BOB)  # Bob reads Russian
        message = w.fake.message(BOB.id, reminder.message_id)  # edited in place from now on
        question = (message.text, [b.text for b in message.buttons()])
        kept = await w.tap(message, "Оставить", BOB)
        restored = message.text
        await w.tap(message, "❌ Отменить бронь", BOB)
        cancelled = await w.tap(w.fake.message(BOB.id, reminder.message_id), "Да, отменить", BOB)
        notice = await w.message_with(BOB.id, "❌ Бронь «Court 3»")
        report = await w.notifier._runs.handle(booking_id).result()
        status = await w.cli("status", str(booking_id))

    assert question[0].startswith("Отменить бронь «Court 3» на ")
    assert question[1] == ["Да, отменить", "Оставить"]
    assert kept == "Бронь сохранена." and restored.startswith("👍 Бронь «Court 3» на ")
    assert cancelled == "Бронь отменена."
    assert "отменена" in notice.text and notice.text.endswith("Причина: отмена в Telegram")
    after = [m.text for m in w.fake.messages_to(BOB.id)][-1]
    assert after == notice.text  # nothing after the cancellation notice
    assert sum(m.text.startswith("❌ Бронь «Court 3»") for m in w.fake.messages_to(BOB.id)) == 1
    assert report.cancelled and status["cancelled_by"] == "user"
    assert w.fake.unanswered_callbacks() == []


@pytest.mark.slow
async def test_forged_foreign_strangers_and_stale_taps_and_used_links_change_nothing(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    async with world(dev_env, db_url, task_queue, fake) as w:
        link = str((await w.cli("link", "--user", "ann"))["link"])
        await w.fake.user_follows_link(link, ANN)
        await w.message_with(ANN.id, "✅ Connected")
        await w.fake.user_follows_link(link, MALLORY)  # the same link, used again
        reused = await w.message_with(MALLORY.id, "This link has already been used")
        await connect(w, BOB, "bob")
        booking_id = await w.book("ann", 8, "--reminders", "5s")
        reminder = await w.message_with(ANN.id, "⏰")
        data = {b.text: b.callback_data for b in reminder.buttons()}

        stranger = await w.tap(reminder, CONFIRM, MALLORY)
        forged = await _tap_with(w, reminder, ANN, _altered(str(data[CONFIRM])))
        other_booking = await _tap_with(w, reminder, ANN, str(data[CONFIRM]).replace(
            f":{booking_id}:", f":{booking_id + 1}:"))  # fmt: skip
        bobs_message = await w.fake.user_says(BOB.id, "/settings", BOB)
        in_bobs_chat = await _tap_in(w, BOB, bobs_message, str(data[CANCEL]))
        start = datetime.now(UTC) + timedelta(hours=5)
        await w.cli("reschedule", str(booking_id), "--start", iso(start), "--end", iso(start + timedelta(hours=1)))  # fmt: skip
        # The move took the reminder's buttons away; a tap with their data (a client that still
        # shows them) is refused.
        await w.fake.wait_until(lambda: not w.fake.message(ANN.id, reminder.message_id).buttons())
        moved = await _tap_with(w, reminder, ANN, str(data[CONFIRM]))
        status = await w.cli("status", str(booking_id))
        await w.notifier.cancel(booking_id)

    assert reused.text.startswith("This link has already been used")
    assert stranger == "This booking is not yours."
    assert forged == other_booking == in_bobs_chat == "This button is not valid."
    assert moved == "This booking has moved since this message: see the newer one."
    assert status["confirmed_at"] is None and status["cancelled_at"] is None
    edits = w.fake.message(ANN.id, reminder.message_id).edits
    assert len(edits) == 1 and edits[0].text.split("\n")[-1].startswith("📅 Moved to ")
    assert w.fake.unanswered_callbacks() == []


@pytest.mark.slow
async def test_muting_the_hour_reminders_in_settings_skips_them(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    async with world(dev_env, db_url, task_queue, fake) as w:
        await connect(w, ANN, "ann")
        await w.fake.user_says(ANN.id, "/settings", ANN)
        settings = await w.message_with(ANN.id, "What would you like to receive?")
        answer = await w.tap(settings, "🔔 Reminders an hour before")
        toggled = [b.text for b in w.fake.message(ANN.id, settings.message_id).buttons()]
        booking_id = await w.book("ann", 8, "--reminders", "5s")  # a reminder under 12 h
        started = await w.message_with(ANN.id, "▶️")
        status = await w.cli("status", str(booking_id))
        await w.fake.user_says(ANN.id, "/stop", ANN)
        await w.message_with(ANN.id, "Paused")
        await w.fake.user_says(ANN.id, "/start", ANN)
        offer = await w.message_with(ANN.id, "Your reminders are paused")
        resumed = await w.tap(offer, "🔔 Resume notices")
        muted = await w.notifier.people.muted(user_ref="ann")
        await w.notifier.cancel(booking_id)

    assert answer == "Reminders an hour before: off"
    assert "🔕 Reminders an hour before" in toggled
    notices = {n["key"]: (n["status"], n["last_error"]) for n in status["notices"]}  # type: ignore[attr-defined]
    assert notices["reminder_5s"] == ("SKIPPED", "muted by the user")
    assert started.text.startswith("▶️ Court 3 starts now")
    assert resumed == "" and muted == frozenset()
    assert w.fake.unanswered_callbacks() == []


@pytest.mark.slow
async def test_a_webhook_call_without_the_secret_is_refused(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    settings = settings_for(db_url, task_queue).model_copy(
        update={"telegram_bot_token": SecretStr(fake.token), "telegram_api_url": fake.url}
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates"
    engine = make_engine(db_url)
    notifier = BookingNotifier(dev_env.client, make_sessions(engine), task_queue, engine=engine)
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": ANN.id, "type": "private"}, "from": {"id": ANN.id, "is_bot": False, "first_name": "Ann"}, "text": "/start"}}  # fmt: skip
    async with notifier, running_bot(settings, notifier, webhook=url, listen=("127.0.0.1", port)):
        registered = fake.webhook
        async with aiohttp.ClientSession() as http:
            without = await http.post(url, json=update)
            wrong = await http.post(url, json=update, headers={_SECRET: "guess"})
            right = await http.post(url, json=update, headers={_SECRET: webhook_secret(settings)})
        await fake.wait_until(lambda: fake.messages_to(ANN.id))

    assert registered is not None and registered.url == url and registered.secret_token
    assert (without.status, wrong.status, right.status) == (401, 401, 200)
    assert fake.messages_to(ANN.id)[0].text.startswith("Hello! To get your booking")


_SECRET = "X-Telegram-Bot-Api-Secret-Token"


def _altered(data: str) -> str:
    """The same data with one character of its signature changed."""
    last = data[-1]
    return data[:-1] + ("A" if last != "A" else "B")


async def _tap_with(w: World, message: StoredMessage, user: TelegramUser, data: str) -> str:
    """A tap on ``message`` whose callback data someone forged (queued as Telegram would)."""
    update = {
        "callback_query": {
            "id": f"forged-{len(w.fake.callback_queries)}-{data[-6:]}",  # unique per tap
            "from": {"id": user.id, "is_bot": False, "first_name": user.first_name},
            "message": message.to_json(),
            "chat_instance": "1",
            "data": data,
        }
    }
    queued = w.fake.queue_update(copy.deepcopy(update))
    query_id = str(queued["callback_query"]["id"])
    await w.fake.wait_until(lambda: w.fake.callback_query(query_id).answered)
    return w.fake.callback_query(query_id).answers[0].text or ""


async def _tap_in(w: World, user: TelegramUser, said: dict[str, object], data: str) -> str:
    """Data signed for one chat, replayed on a message of another chat."""
    await w.message_with(user.id, "What would you like to receive?")
    message = w.fake.messages_to(user.id)[-1]
    return await _tap_with(w, message, user, data)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
async def test_two_pollers_of_one_bot_stop_with_one_clear_line(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    settings = settings_for(db_url, task_queue).model_copy(
        update={"telegram_bot_token": SecretStr(fake.token), "telegram_api_url": fake.url}
    )
    engine = make_engine(db_url)
    notifier = BookingNotifier(dev_env.client, make_sessions(engine), task_queue, engine=engine)
    async with notifier:
        with pytest.raises(BotConflict, match="only one process may poll a bot"):
            async with running_bot(settings, notifier), running_bot(settings, notifier):
                await asyncio.sleep(30)


@pytest.mark.slow
async def test_the_bot_command_refuses_to_poll_a_bot_that_has_a_webhook(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    bot = TelegramChannel(fake.token, fake.url)
    await bot.bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    await bot.close()
    env = stack_env(
        dev_env.client, db_url, task_queue, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.url
    )
    code, out, err = await run_cli("bot", env=env)

    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("booking-notify: a webhook is set for this bot")
    assert fake.token.partition(":")[2] not in err + out


@pytest.mark.slow
async def test_dev_with_a_bot_token_runs_the_bot_too(tmp_path: Path, fake: FakeTelegram) -> None:
    port = _free_port()
    env = cli_env(
        BOOKING_NOTIFY_DATA_DIR=str(tmp_path / "data"),
        TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.url,
    )
    dev = await asyncio.create_subprocess_exec(
        CLI, "dev", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert dev.stdout is not None
    lines: list[str] = []
    try:
        while not lines or "Ctrl-C stops everything" not in lines[-1]:
            line = (await asyncio.wait_for(dev.stdout.readline(), 90)).decode()
            assert line, "dev exited early:\n" + "".join(lines)
            lines.append(line)
        await fake.user_says(ANN.id, "/start", ANN)
        await fake.wait_until(lambda: fake.messages_to(ANN.id), 30)
        dev.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(dev.wait(), 60) == 0
    finally:
        if dev.returncode is None:
            os.killpg(dev.pid, signal.SIGKILL)
            await dev.wait()

    assert any("receiving updates by long polling" in line for line in lines)
    assert fake.messages_to(ANN.id)[0].text.startswith("Hello! To get your booking reminders")


@pytest.mark.slow
async def test_a_tap_after_the_booking_is_over_changes_nothing(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    async with world(dev_env, db_url, task_queue, fake) as w:
        await connect(w, ANN, "ann")
        booking_id = await w.book("ann", 6, "--reminders", "4s", length=timedelta(seconds=3))
        reminder = await w.message_with(ANN.id, "⏰")
        data = {b.text: b.callback_data for b in reminder.buttons()}
        await w.message_with(ANN.id, "✅ Court 3 has ended")
        await w.fake.wait_until(lambda: not w.fake.message(ANN.id, reminder.message_id).buttons())
        over = await _tap_with(w, reminder, ANN, str(data[CANCEL]))  # a client showing them still
        status = await w.cli("status", str(booking_id))

    assert over == "This booking is over."
    assert status["cancelled_at"] is None
    edited = w.fake.message(ANN.id, reminder.message_id)
    assert [v.text for v in edited.edits] == [reminder.text]  # only its buttons went, at the end


@pytest.mark.slow
async def test_bookings_lists_exactly_mine_and_its_cancel_is_the_final_cancel(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, fake: FakeTelegram
) -> None:
    async with world(dev_env, db_url, task_queue, fake) as w:
        await connect(w, ANN, "ann")
        await connect(w, BOB, "bob")
        later = await w.book("ann", 7200)
        await w.book("ann", 3600, "--title", "Sauna")
        gone = await w.book("ann", 5400, "--title", "Gone")
        await w.notifier.cancel(gone)
        await w.book("bob", 3600, "--title", "Bobs court", "--lang", "ru")

        await w.fake.user_says(ANN.id, "/bookings", ANN)
        listed = await w.message_with(ANN.id, "Your upcoming bookings:")
        lines, labels = listed.text.split("\n"), [b.text for b in listed.buttons()]
        confirmed = await w.tap(listed, "1. " + CONFIRM)
        after_confirm = w.fake.message(ANN.id, listed.message_id).text.split("\n")
        await w.tap(listed, "2. " + CANCEL)  # the same question and final cancel as a reminder
        question = w.fake.message(ANN.id, listed.message_id).text
        cancelled = await w.tap(w.fake.message(ANN.id, listed.message_id), YES)
        notice = await w.message_with(ANN.id, "❌ Court 3")
        status = await w.cli("status", str(later))
        await w.fake.user_says(ANN.id, "/bookings", ANN)
        again = (await w.message_with(ANN.id, "Your upcoming bookings:")).text.split("\n")
        await w.fake.user_says(BOB.id, "/bookings", BOB)
        bobs = await w.message_with(BOB.id, "Ваши предстоящие брони:")

    assert len(lines) == 3 and "Bobs court" not in listed.text and "Gone" not in listed.text
    assert lines[1].startswith("1. Sauna: ") and lines[1].endswith(", not confirmed yet")
    assert lines[2].startswith("2. Court 3: ")
    assert labels == ["1. " + CONFIRM, "1. " + CANCEL, "2. " + CONFIRM, "2. " + CANCEL]
    assert confirmed == "Thanks, see you there!" and after_confirm[1].endswith(", ✅ confirmed")
    assert question.startswith("Cancel Court 3 on ")
    assert cancelled == "Cancelled." and status["cancelled_by"] == "user"
    assert "is cancelled" in notice.text
    assert len(again) == 2 and again[1].startswith("1. Sauna: ")
    assert bobs.text.split("\n")[1].startswith("1. Бронь «Bobs court»: ")
    assert len(bobs.text.split("\n")) == 2
    assert w.fake.unanswered_callbacks() == []
