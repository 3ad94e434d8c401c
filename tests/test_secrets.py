"""The bot token and personal data stay where they belong.

The token is used by aiogram alone: it must not show in any log line (at DEBUG, every logger,
including aiohttp's and aiogram's), exception or error message, notice row, workflow history or
CLI output, whatever Telegram answers. Histories carry ids and times only.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier
from booking_notifications.channels import DeliveryError
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.settings import SettingsError, load_settings
from booking_notifications.testing.fake_telegram import FakeTelegram, ProxyReply
from tests.support.bookings import booking
from tests.support.cli import cli_env, run_cli
from tests.support.stack import booking_stack

pytestmark = pytest.mark.backends("sqlite")

TOKEN = "987654:SECRET-token-Zq7wX"
SECRET = TOKEN.partition(":")[2]
S = timedelta(seconds=1)
CHAT = 4242
FAILED, SENT, SKIPPED = NoticeStatus.FAILED, NoticeStatus.SENT, NoticeStatus.SKIPPED


def _break(telegram: FakeTelegram, path: str) -> int:
    """Make the fake answer the way ``path`` names, from now on; return the chat to send to."""
    nginx = b"<html><body><h1>502 Bad Gateway</h1>{path}</body></html>"
    json_404 = b'{"ok": false, "error_code": 404, "description": "Not Found: {path}"}'
    match path:
        case "429":
            telegram.global_rate = 0  # flood control that never lets up
        case "5xx":
            telegram.fault_rate = 1.0
        case "network error":
            telegram.impostor = ProxyReply(drop=True)
        case "non-JSON":
            telegram.impostor = ProxyReply(502, nginx, "text/html")
        case "proxy 404 page":
            telegram.impostor = ProxyReply()  # Apache's page: "The requested URL /bot<token>/..."
        case "401":
            telegram.token = "987654:REVOKED"
        case "404":
            telegram.impostor = ProxyReply(404, json_404, "application/json")
        case "403":
            telegram.blocked.add(CHAT)
        case "400":
            telegram.unknown.add(CHAT)
        case "migrate":
            telegram.migrate(-CHAT)
            return -CHAT  # a group, now a supergroup
    return CHAT


GAVE_UP = {FAILED, SKIPPED}
"""A retried reminder ends FAILED when Temporal will not retry past its deadline, or SKIPPED when
a retry starts after its latest moment: which one depends on the retry delay and the clock."""
# path -> how the reminder may end, and what its history must say (so the grep read something)
PATHS: dict[str, tuple[set[NoticeStatus], str]] = {
    "429": (GAVE_UP, "RateLimited"),
    "5xx": (GAVE_UP, "Telegram 500"),
    "network error": (GAVE_UP, "ServerDisconnectedError"),
    "non-JSON": (GAVE_UP, "Telegram 502"),
    "proxy 404 page": (GAVE_UP, "Misconfigured"),
    "401": (GAVE_UP, "401 Unauthorized"),
    "404": (GAVE_UP, "404 Not Found"),
    "403": ({FAILED}, "Telegram 403"),
    "400": ({FAILED}, "chat not found"),
    "migrate": ({SENT}, '"status":"SENT"'),
}


def readable(history: WorkflowHistory) -> str:
    """The history as JSON, followed by every payload decoded (JSON has them in base64)."""
    text = history.to_json()
    payloads: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    payloads.append(base64.b64decode(value).decode(errors="replace"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(text))
    return "\n".join([text, *payloads])


@pytest.mark.parametrize("path", PATHS)
async def test_the_token_is_in_no_log_record_row_or_history_whatever_telegram_answers(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    """Each path through the real worker until the reminder is final: retried paths give up
    when the reminder's deadline passes, so their last failure is in the history."""
    caplog.set_level(logging.DEBUG)  # every logger, aiogram's, aiohttp's and Temporal's
    may_end, history_says = PATHS[path]
    async with FakeTelegram(token=TOKEN, global_rate=None, per_chat_rate=None) as telegram:
        chat_id = _break(telegram, path)
        channel = TelegramChannel(TOKEN, telegram.url)
        async with booking_stack(dev_env, db_url, task_queue, channel) as s:
            notifier = BookingNotifier(
                dev_env.client, s.sessions, task_queue, id_prefix=f"{task_queue}-", retry_for=S
            )
            request = booking(
                5 * S, S, chat_id=chat_id, title="Secret title", reminders=[4 * S],
                start_notice=False, end_notice=False,
            )  # fmt: skip
            booking_id = await notifier.schedule(request)
            await s.result(booking_id)
            [row] = (await s.rows(booking_id)).values()
            history = readable(await s.handle(booking_id).fetch_history())

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    for place in (logged, row.last_error or "", history):
        assert SECRET not in place and "/bot" not in place
    assert row.status in may_end and row.attempts >= 1 and history_says in history
    assert len(telegram.requests) >= 1 and "booking_notifications" in logged
    assert "Secret title" not in history


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


@pytest.mark.slow
async def test_cli_output_never_shows_the_token(db_url: str) -> None:
    env = cli_env(DATABASE_URL=db_url, TELEGRAM_BOT_TOKEN=TOKEN, TEMPORAL_ADDRESS="bad")
    code, out, err = await run_cli("status", "1", env=env)
    assert code == 2 and TOKEN not in out + err
