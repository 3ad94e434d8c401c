"""``booking-notify`` as a user runs it: a separate process, its output and its exit status."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.cli import cli_env, iso, run_cli, running_dev
from tests.support.processes import free_port
from tests.support.stack import booking_stack, telegram_channel
from tests.support.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]  # child processes


async def test_book_status_and_cancel_speak_json(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    cli_stack_env: dict[str, str],
    telegram: FakeTelegram,
) -> None:
    start = datetime.now(UTC) + timedelta(hours=2)
    async with booking_stack(dev_env, db_url, task_queue, telegram_channel(telegram)) as s:
        code, out, err = await run_cli(
            "book", "--chat-id", "42", "--start", iso(start), "--end", iso(start + timedelta(hours=1)),
            "--title", "Court 1", "--reminders", "1h30m,30m", "--tz", "Europe/Berlin", "--json",
            env=cli_stack_env,
        )  # fmt: skip
        assert (code, err) == (0, "")
        booking_id = json.loads(out)["booking_id"]
        await eventually(lambda: s.has_rows(booking_id))

        code, out, _ = await run_cli("status", str(booking_id), "--json", env=cli_stack_env)
        status = json.loads(out)
        assert code == 0
        assert [(n["key"], n["status"]) for n in status["notices"]] == [
            ("reminder_1h30m", "PENDING"),
            ("reminder_30m", "PENDING"),
            ("start", "PENDING"),
            ("end", "PENDING"),
        ]
        assert status["starts_at"] == start.isoformat(timespec="seconds")

        code, out, _ = await run_cli("cancel", str(booking_id), "--json", env=cli_stack_env)
        assert code == 0 and json.loads(out) == {
            "booking_id": booking_id,
            "cancelled": True,
            "result": "cancelled",
        }
        await s.result(booking_id)
        code, out, _ = await run_cli("status", str(booking_id), "--json", env=cli_stack_env)
        notices = {n["key"]: n["status"] for n in json.loads(out)["notices"]}
        assert notices["cancel"] == "SENT" and notices["start"] == "CANCELLED"


async def test_every_command_ends_with_its_true_exit_status(cli_stack_env: dict[str, str]) -> None:
    """The Temporal client can abort a process at teardown (sdk-python#300); ours never do."""
    codes = []
    for _ in range(12):
        code, _, err = await run_cli("status", "999", "--json", env=cli_stack_env)
        codes.append(code)
        assert err.strip() == "booking-notify: no booking 999"
    assert codes == [2] * 12


async def test_a_bad_setting_fails_at_start_with_one_clear_line(tmp_path: Path) -> None:
    env = cli_env(TEMPORAL_ADDRESS="localhost", DATABASE_URL="mysql://db/x")
    code, out, err = await run_cli("status", "1", env=env, cwd=tmp_path)

    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "TEMPORAL_ADDRESS" in err and "DATABASE_URL" in err


@pytest.mark.parametrize("migrated", [False, True], ids=["no file", "file not migrated"])
async def test_a_database_not_made_yet_says_which_command_makes_it(
    tmp_path: Path, migrated: bool
) -> None:
    """``status`` before anything has run: not a driver's 'unable to open database file' (nor,
    once, a thread's traceback after it: aiosqlite's failed connect raced the loop's close)."""
    if migrated:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "notifications.db").touch()
    env = cli_env(BOOKING_NOTIFY_DATA_DIR=str(tmp_path / "data"))
    results = [await run_cli(command, *args, env=env) for command, *args in LOOKUPS]

    for code, out, err in results:
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "booking-notify migrate" in err


LOOKUPS = [("status", "1"), ("list",)]
"""The commands that only read rows (the others reach Temporal first)."""


async def test_an_unreachable_temporal_is_one_line_not_a_traceback(
    db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = cli_env(TEMPORAL_ADDRESS=f"127.0.0.1:{port}", DATABASE_URL=db_url)
    start = datetime.now(UTC) + timedelta(hours=2)
    code, _, err = await run_cli(
        "book", "--chat-id", "5", "--start", iso(start), "--end", iso(start + timedelta(hours=1)),
        env=env, cwd=tmp_path,
    )  # fmt: skip

    assert code == 1
    assert (
        err == f"booking-notify: Temporal at 127.0.0.1:{port} is unreachable (connection refused)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2020-01-01T10:00", "--end", "2020-01-01T11:00"], "is in the past"),
        (["--start", "+2h", "--end", "+1h"], "is not after starts_at"),
        (["--start", "+2h", "--end", "+3h", "--tz", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["--start", "+2h", "--end", "+3h", "--reminders", "1h,1h"], "given twice"),
        (["--start", "+2h", "--end", "+3h", "--reminders", "soon"], "is not a duration"),
        (["--start", "tomorrow", "--end", "+3h"], "is not an ISO time"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_written(
    cli_stack_env: dict[str, str], args: list[str], message: str
) -> None:
    now = datetime.now(UTC)
    args = [iso(now + timedelta(hours=int(a[1:-1]))) if a.startswith("+") else a for a in args]
    code, out, err = await run_cli("book", "--chat-id", "42", *args, env=cli_stack_env)

    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
    code, _, err = await run_cli("status", "1", env=cli_stack_env)
    assert code == 2 and "no booking 1" in err


async def test_a_csv_with_a_bad_line_names_it_and_schedules_nothing(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    start = datetime.now(UTC) + timedelta(hours=3)
    good = f"42,Court 1,{iso(start)},{iso(start + timedelta(hours=1))},24h,Europe/Berlin"
    bad = f"43,Court 2,{iso(start)},{iso(start - timedelta(hours=1))},,"
    path = tmp_path / "bookings.csv"
    path.write_text(f"chat_id,title,start,end,reminders,tz\n{good}\n{bad}\n", encoding="utf-8")

    code, out, err = await run_cli("book", "--from-file", str(path), "--json", env=cli_stack_env)

    assert code == 2 and out == ""
    assert f"{path}, line 3: ends_at" in err
    code, _, _ = await run_cli("status", "1", env=cli_stack_env)
    assert code == 2


async def test_skip_bad_rows_schedules_the_good_lines_and_names_the_bad_ones(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    start = datetime.now(UTC) + timedelta(hours=3)
    end = start + timedelta(hours=1)
    lines = [
        f"41,Good,{iso(start)},{iso(end)}",
        f"0,Zero chat,{iso(start)},{iso(end)}",
        f"x,Not a number,{iso(start)},{iso(end)}",
        f"42,Also good,{iso(start)},{iso(end)}",
    ]
    path = tmp_path / "bookings.csv"
    path.write_text("chat_id,title,start,end\n" + "\n".join(lines), encoding="utf-8")

    code, out, err = await run_cli(
        "book", "--from-file", str(path), "--skip-bad-rows", "--json", env=cli_stack_env
    )

    assert code == 0 and sorted(json.loads(out)["booking_id"]) == [1, 2]
    assert f"skipped {path}, line 3: chat_id 0" in err
    assert f"skipped {path}, line 4: 'x' is not an integer" in err


async def test_a_good_csv_schedules_every_line(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    start = datetime.now(UTC) + timedelta(hours=3)
    rows = [
        f"{40 + i},Court {i},{iso(start)},{iso(start + timedelta(hours=1))},1h," for i in range(3)
    ]
    path = tmp_path / "bookings.csv"
    path.write_text("chat_id,title,start,end,reminders,tz\n" + "\n".join(rows), encoding="utf-8")

    code, out, err = await run_cli("book", "--from-file", str(path), "--json", env=cli_stack_env)

    assert (code, err) == (0, "")
    assert sorted(json.loads(out)["booking_id"]) == [1, 2, 3]


async def test_server_on_a_busy_port_says_so_instead_of_using_the_other_server(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = cli_env(BOOKING_NOTIFY_DATA_DIR=str(tmp_path), TEMPORAL_ADDRESS=f"127.0.0.1:{port}")
        code, out, err = await run_cli("server", env=env, cwd=tmp_path)

    assert code == 1 and out == ""
    assert f"127.0.0.1:{port} is already in use" in err and "Traceback" not in err


async def test_dev_runs_the_whole_stack_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port(1000)  # and the UI's, at port + 1000
    env = cli_env(
        BOOKING_NOTIFY_DATA_DIR=str(tmp_path / "data"), TEMPORAL_ADDRESS=f"127.0.0.1:{port}"
    )
    async with running_dev(env, tmp_path) as dev:
        await dev.up(60)
        assert any(f"UI http://127.0.0.1:{port + 1000}" in line for line in dev.lines)
        start = datetime.now(UTC) + timedelta(seconds=10)
        code, _, err = await run_cli(
            "book", "--chat-id", "42", "--start", iso(start), "--end", iso(start + timedelta(seconds=1)),
            "--reminders", "4s", "--title", "Demo", "--json", env=env, cwd=tmp_path,
        )  # fmt: skip
        assert (code, err) == (0, "")
        printed: list[str] = []
        while len(printed) < 3:
            line = await dev.next_line(30)
            if "notice #" in line:
                printed.append(line)
        assert "Reminder: Demo starts in" in printed[0]
        assert "Demo starts now" in printed[1] and "Demo has ended" in printed[2]
        assert await dev.ctrl_c(30) == 0
    assert (tmp_path / "data" / "notifications.db").exists()
    assert (tmp_path / "data" / "temporal.db").exists()
