"""A worker checks what it will send with before it starts: no silent console, no bad token."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import pytest

from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.cli import CLI, run_cli
from tests.support.processes import free_port

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]  # child processes


async def test_a_worker_without_a_bot_token_or_an_explicit_console_refuses_to_start(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = await run_cli("worker", env=cli_stack_env, cwd=tmp_path)

    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in err and "NOTICE_CHANNEL" in err


@pytest.mark.parametrize("token", ["987654:SECRET-def ", "SECRET", "987654:SECRET\n"])
async def test_a_malformed_token_is_one_line_and_exit_2(
    cli_stack_env: dict[str, str], tmp_path: Path, token: str
) -> None:
    env = {**cli_stack_env, "TELEGRAM_BOT_TOKEN": token}
    code, out, err = await run_cli("worker", env=env, cwd=tmp_path)

    assert code == 2 and out == "" and "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("booking-notify: ") and "TELEGRAM_BOT_TOKEN" in last
    assert "SECRET" not in err


async def test_a_token_telegram_refuses_stops_the_start_with_one_line(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    async with FakeTelegram() as telegram:
        env = {
            **cli_stack_env,
            "TELEGRAM_BOT_TOKEN": "654321:REVOKED-TOKEN",
            "TELEGRAM_API_URL": telegram.url,
        }
        code, out, err = await run_cli("worker", env=env, cwd=tmp_path)

    assert code == 2 and out == "" and "Traceback" not in err
    assert err.splitlines()[-1].startswith("booking-notify: ")
    assert "REVOKED-TOKEN" not in err


async def test_telegram_down_at_start_does_not_keep_the_worker_from_starting(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    closed = free_port()
    env = {
        **cli_stack_env,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "TELEGRAM_API_URL": f"http://127.0.0.1:{closed}",
    }
    worker = await asyncio.create_subprocess_exec(
        CLI, "worker", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), 60)
        assert b"Worker on task queue" in line
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.stderr is not None
    log = (await worker.stderr.read()).decode()
    assert "cannot ask Telegram who the bot is" in log and "TEST-TOKEN" not in log


async def test_an_unknown_notice_channel_is_one_line_and_exit_2(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_stack_env, "NOTICE_CHANNEL": "email"}
    code, out, err = await run_cli("worker", env=env, cwd=tmp_path)

    assert code == 2 and out == "" and err.count("\n") == 1
    assert "NOTICE_CHANNEL" in err and "'telegram' or 'console'" in err


async def test_a_metrics_address_already_taken_is_one_line_and_exit_2(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {**cli_stack_env, "NOTICE_CHANNEL": "console", "METRICS_ADDRESS": address}
        code, _, err = await run_cli("worker", env=env, cwd=tmp_path)

    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"booking-notify: cannot listen on METRICS_ADDRESS {address}: Address already in use"
    )


@pytest.mark.parametrize("schema", ["none", "0005"])
async def test_a_worker_on_a_database_it_cannot_use_refuses_to_start(
    cli_stack_env: dict[str, str], db_url: str, tmp_path: Path, schema: str
) -> None:
    """A worker whose every activity would fail on missing tables looks alive and sends
    nothing: it says which migration is missing instead, and exits 1."""
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    (tmp_path / "fresh.db").touch()
    if schema != "none":
        engine = make_engine(fresh)
        await upgrade(engine, schema)
        await engine.dispose()
    env = {**cli_stack_env, "DATABASE_URL": fresh, "NOTICE_CHANNEL": "console"}
    code, out, err = await run_cli("worker", env=env, cwd=tmp_path)

    assert code == 1 and out == "" and "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("booking-notify: ") and "booking-notify migrate" in last
    assert f"at revision {schema}" in last
