"""``book --from-file`` on a terminal shows how far it got and a summary; into a pipe or with
``--json`` its output stays what scripts read. The terminal is a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import pty
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import CLI, run_cli

pytestmark = pytest.mark.backends("sqlite")
ROWS = 30


def _csv(path: Path) -> Path:
    start = datetime.now(UTC) + timedelta(days=3)
    lines = ["chat_id,title,start,end"] + [
        f"{8100 + n},Court {n},{(start + timedelta(hours=n)).isoformat()},"
        f"{(start + timedelta(hours=n + 1)).isoformat()}"
        for n in range(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with its standard output on a pseudo-terminal; exit status and what it drew."""
    master, slave = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        CLI, *args, env=env, stdout=slave, stderr=asyncio.subprocess.PIPE
    )
    os.close(slave)
    drawn = bytearray()
    loop = asyncio.get_running_loop()
    while True:
        try:
            chunk = await loop.run_in_executor(None, os.read, master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    await asyncio.wait_for(process.wait(), 60)
    os.close(master)
    assert process.returncode is not None
    return process.returncode, drawn.decode()


async def test_a_file_on_a_terminal_shows_its_progress_and_a_summary(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    path = _csv(tmp_path / "bookings.csv")
    code, drawn = await _on_a_terminal("book", "--from-file", str(path), env=cli_stack_env)

    assert code == 0, drawn
    assert f"\r{ROWS} rows checked\x1b[K" in drawn
    assert f"{ROWS} rows checked, {ROWS} written, {ROWS}/{ROWS} workflows started\x1b[K" in drawn
    summary = drawn.rsplit("\n", 2)[-2].strip()
    assert summary.startswith(f"{ROWS} bookings scheduled (ids 1–{ROWS}) in "), drawn
    assert "booking 1 scheduled" not in drawn


async def test_a_file_into_a_pipe_or_as_json_prints_what_scripts_read(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    path = _csv(tmp_path / "bookings.csv")
    piped = await run_cli("book", "--from-file", str(path), env=cli_stack_env)
    again = _csv(tmp_path / "more.csv")
    code, as_json = await _on_a_terminal(
        "book", "--from-file", str(again), "--json", env=cli_stack_env
    )

    assert piped == (0, "".join(f"booking {n} scheduled\n" for n in range(1, ROWS + 1)), "")
    assert code == 0 and "\r" not in as_json.replace("\r\n", "\n")
    second = ", ".join(str(n) for n in range(ROWS + 1, 2 * ROWS + 1))
    assert as_json.strip() == '{"booking_id": [' + second + "]}"
