"""The bot token and personal data stay where they belong.

The token is used by aiogram alone: it must not show in any log line (at DEBUG, every logger,
including aiohttp's and aiogram's), exception or error message, notice row, workflow history or
CLI output, whatever Telegram answers. Histories carry ids and times only.
"""

from __future__ import annotations

import functools
import logging
import socket
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.channels import DeliveryError
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.fake_telegram import FakeTelegram
from booking_notifications.settings import SettingsError, load_settings
from tests.stack import booking, booking_stack, eventually
from tests.test_cli import cli_env, run_cli

TOKEN = "987654:SECRET-token-Zq7wX"
S = timedelta(seconds=1)


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_the_token_appears_nowhere_whatever_telegram_answers(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    chats = {"ok": 101, "blocked": 102, "unknown": 103, "rate": 104, "faulty": 105}
    async with FakeTelegram(token=TOKEN, blocked=[102], unknown=[103]) as telegram:
        channel = TelegramChannel(TOKEN, telegram.url)
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            ids = [
                await s.notifier.schedule(
                    booking(3 * S, timedelta(hours=1), chat_id=chat, title="Secret title", reminders=[], end_notice=False)
                )
                for chat in chats.values()
            ]  # fmt: skip
            ids.append(
                await s.notifier.schedule(
                    booking(3 * S, timedelta(hours=1), chat_id=104, reminders=[], end_notice=False)
                )
            )  # a second notice for one chat in the same second: a 429
            telegram.fail_for(4)  # the first attempts meet 502s
            for booking_id in ids:
                await eventually(functools.partial(_final, s, booking_id), within=60)
            rows = [row for b in ids for row in (await s.rows(b)).values()]
            histories = [(await s.handle(b).fetch_history()).to_json() for b in ids]
            for booking_id in ids:
                await s.handle(booking_id).terminate()

    assert telegram.count(502) > 0 and telegram.count(403) == 1 and telegram.count(429) >= 1
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "chat=101" in logged or "101" in logged  # the logs are there, and were read
    assert TOKEN not in logged
    assert not any(TOKEN in (row.last_error or "") for row in rows)
    assert not any(TOKEN in history for history in histories)
    assert not any("Secret title" in history for history in histories)


async def test_a_network_error_message_names_no_url_and_no_token() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here
    channel = TelegramChannel(TOKEN, f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(DeliveryError) as raised:
            await channel.send(1, "hello")
    finally:
        await channel.close()
    assert TOKEN not in str(raised.value) and "/bot" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_settings_print_the_token_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


def test_a_bad_setting_message_does_not_echo_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", f"ftp://{TOKEN}")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert TOKEN not in str(raised.value)


async def test_cli_output_never_shows_the_token(db_url: str) -> None:
    env = cli_env(DATABASE_URL=db_url, TELEGRAM_BOT_TOKEN=TOKEN, TEMPORAL_ADDRESS="bad")
    code, out, err = await run_cli("status", "1", env=env)
    assert code == 2 and TOKEN not in out + err


async def _final(stack: object, booking_id: int) -> bool:
    rows = await stack.rows(booking_id)  # type: ignore[attr-defined]
    return bool(rows) and all(r.status.final for r in rows.values())
