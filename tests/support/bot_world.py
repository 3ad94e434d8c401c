"""The two-way Telegram world of the bot tests: the worker and the bot on the dev server, both
speaking to the fake Bot API, people played by the fake, and booking-notify as the operator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier
from booking_notifications.api.people import bot_username_of
from booking_notifications.bot.run import running_bot
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.settings import Settings
from booking_notifications.testing.fake_chats import StoredMessage, TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker.assembly import running_workers
from tests.support.cli import iso, run_cli, stack_env
from tests.support.stack import settings_for

ANN = TelegramUser(id=5001, first_name="Ann", language_code="en")
BOB = TelegramUser(id=5002, first_name="Bob", language_code="ru")
MALLORY = TelegramUser(id=6666, first_name="Mallory")
CONFIRM, CANCEL = "✅ I'll be there", "❌ Cancel booking"
YES, KEEP = "Yes, cancel", "Keep it"


@dataclass
class World:
    notifier: BookingNotifier
    settings: Settings
    fake: FakeTelegram
    env: dict[str, str]

    async def cli(self, *args: str) -> dict[str, object]:
        code, out, err = await run_cli(*args, "--json", env=self.env)
        assert (code, err) == (0, ""), err
        result: dict[str, object] = json.loads(out)
        return result

    async def book(
        self, user: str, start_in: float, *extra: str, length: timedelta = timedelta(hours=1)
    ) -> int:
        start = datetime.now(UTC) + timedelta(seconds=start_in)
        end = start + length
        booked = await self.cli(
            "book", "--user", user, "--start", iso(start), "--end", iso(end), "--title", "Court 3",
            *extra,
        )  # fmt: skip
        booking_id = booked["booking_id"]
        assert isinstance(booking_id, int)
        return booking_id

    async def message_with(self, chat_id: int, start: str, seconds: float = 30) -> StoredMessage:
        """The bot's latest message to ``chat_id`` whose text starts with ``start``."""

        def found() -> StoredMessage | None:
            matches = [m for m in self.fake.messages_to(chat_id) if m.text.startswith(start)]
            return matches[-1] if matches else None

        await self.fake.wait_until(found, seconds)
        message = found()
        assert message is not None
        return message

    async def tap(self, message: StoredMessage, label: str, user: TelegramUser = ANN) -> str:
        """Tap and wait for the answer; returns what the bot answered."""
        query_id = await self.fake.user_taps(message.chat_id, message.message_id, label, user)
        await self.fake.wait_until(lambda: self.fake.callback_query(query_id).answered)
        answers = self.fake.callback_query(query_id).answers
        assert len(answers) == 1, "every tap is answered exactly once"
        return answers[0].text or ""


@asynccontextmanager
async def world(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    fake: FakeTelegram,
    **settings_too: Any,
) -> AsyncIterator[World]:
    """Worker and bot on the dev server, both speaking to the fake Bot API with its token;
    ``settings_too`` are more settings for both (by field name)."""
    settings = settings_for(db_url, task_queue).model_copy(
        update={
            "telegram_bot_token": SecretStr(fake.token),
            "telegram_api_url": fake.url,
            **settings_too,
        }
    )
    engine = make_engine(db_url)
    notifier = BookingNotifier(
        dev_env.client,
        make_sessions(engine),
        task_queue,
        id_prefix=settings.workflow_id_prefix,
        engine=engine,
        bot_username=bot_username_of(settings),
    )
    env = stack_env(
        dev_env.client, db_url, task_queue, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.url
    )
    channel = TelegramChannel(fake.token, fake.url)
    async with (
        notifier,
        running_workers(dev_env.client, settings, channel),
        running_bot(settings, notifier),
    ):
        yield World(notifier, settings, fake, env)


async def connect(w: World, user: TelegramUser, ref: str) -> None:
    link = await w.cli("link", "--user", ref)
    assert str(link["link"]).startswith(f"https://t.me/{w.fake.bot_user['username']}?start=")
    await w.fake.user_follows_link(str(link["link"]), user)
    connected = await w.message_with(user.id, "✅")
    assert connected.text in (
        "✅ Connected: you will get your booking reminders here.",
        "✅ Готово: напоминания о бронированиях будут приходить сюда.",  # in Russian to Bob
    )
