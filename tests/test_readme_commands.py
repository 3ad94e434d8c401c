"""Every command a README shows works as written: parsed by the real CLI, run where that is cheap.

The commands are found in the files, not listed here, so a command added to a README is checked
without touching this test:

* in code blocks, every shell command (lines joined at a trailing backslash, split at ``&&``,
  ``||``, ``;`` and ``|``, comments dropped) whose program is ``booking-notify`` (by any path,
  after ``docker compose exec worker`` too) or ``python -m booking_notifications…``;
* in inline code (table cells and prose), text that starts with ``booking-notify`` and a word.

A README command is a template. Before it is checked:

* ``[...]`` marks optional parts, as in a usage line: the command is checked once with every
  optional part and once with none; ``[...]`` alone ("and the other options") is dropped;
* a placeholder word becomes a value of its kind (``PLACEHOLDERS``): ``ID`` → 1, ``N`` → 42,
  ``ISO`` → a time ahead (each next ``ISO`` of a command an hour later), ``S`` → PENDING,
  ``Z`` and ``Area/City`` → Europe/Berlin, ``T`` and ``R`` → a word;
* ``$(date … -d '+N unit' … +FORMAT)`` becomes that moment, formatted as asked; any other
  ``$(…)`` fails here until it gets its own rule.

Every command is parsed by the CLI's parser. The ones whose run is cheap and needs nothing
outside the machine are also run for real (``RUNS``): ``fake-telegram`` on a free port (the
README's ``--port`` is replaced) until it answers getMe, then stopped with Ctrl-C; ``migrate``
on a throwaway SQLite file. And every subcommand's ``--help`` exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from booking_notifications.cli import parser
from booking_notifications.testing.fake_telegram import DEFAULT_TOKEN
from tests.support.cli import CLI, cli_env, run_cli
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent
READMES = [ROOT / "README.md", *sorted(ROOT.glob("[!.]*/README.md"))]
PROGRAM = "booking-notify"
OUR_MODULES = "booking_notifications"
NOT_SHELL = {"python", "py", "json", "yaml", "yml", "toml", "ini", "sql", "text", "txt"}
PLACEHOLDERS: dict[str, Callable[[int], str]] = {
    "ID": lambda _: "1",
    "N": lambda _: "42",
    "ISO": lambda nth: (datetime.now(UTC) + timedelta(hours=nth + 1)).isoformat(timespec="seconds"),
    "S": lambda _: "PENDING",
    "Z": lambda _: "Europe/Berlin",
    "Area/City": lambda _: "Europe/Berlin",
    "T": lambda _: "Court 3",
    "R": lambda _: "rain",
}
_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
_MARK = re.compile("\ue000(\\d+)\ue000")
_DATE_OFFSET = re.compile(r"\+?(\d+)\s*(sec|second|min|minute|hour|day)s?")
_UNITS = {"sec": "seconds", "second": "seconds", "min": "minutes", "minute": "minutes"}


@dataclass(frozen=True)
class Shown:
    """A command as a README shows it: where, the program and its arguments as written.

    A ``$(…)`` in an argument stands there as ``\ue000<n>\ue000``, the n-th of ``substitutions``,
    and is computed only when the command is checked (its moment is then fresh).
    """

    where: str
    inline: bool
    program: tuple[str, ...]
    """``("booking-notify",)`` or ``("python", "-m", module)``."""
    args: tuple[str, ...]
    substitutions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """What it runs: the subcommand, or the module run with ``python -m``."""
        return self.args[0] if self.program == (PROGRAM,) and self.args else self.program[-1]

    @property
    def text(self) -> str:
        """The command as the README shows it (quotes only where a word holds a space)."""
        words = [
            _MARK.sub(lambda m: f"$({self.substitutions[int(m[1])]})", word)
            for word in (*self.program, *self.args)
        ]
        return " ".join(f'"{word}"' if " " in word else word for word in words)

    def variants(self) -> list[list[str]]:
        """The arguments with every ``[optional part]`` and with none, placeholders filled in."""
        full: list[str] = []
        bare: list[str] = []
        depth = 0
        nth = 0
        for arg in self.args:
            depth += arg.startswith("[")
            word = arg.removeprefix("[").removesuffix("]")
            if word in PLACEHOLDERS:
                word, nth = PLACEHOLDERS[word](nth), nth + (word == "ISO")
            word = _MARK.sub(lambda m: date_substitution(self.substitutions[int(m[1])]), word)
            if word != "...":
                full.append(word)
                if depth == 0:
                    bare.append(word)
            depth -= arg.endswith("]")
        assert depth == 0, f"unbalanced [ ] in {self.text}"
        return [full] if full == bare else [full, bare]


def date_substitution(command: str) -> str:
    """What ``$(date -u -d '+3 min' +%FT%T)`` prints, computed here (GNU date is not everywhere)."""
    words = shlex.split(command)
    if words[:1] != ["date"] or "-d" not in words:
        raise AssertionError(f"no substitution for $({command}): add a rule to this test")
    offset = _DATE_OFFSET.fullmatch(words[words.index("-d") + 1].strip())
    assert offset, f"no substitution for $({command}): add a rule to this test"
    unit = _UNITS.get(offset[2], offset[2] + "s")
    moment = datetime.now(UTC) + timedelta(**{unit: int(offset[1])})
    fmt = next((w[1:] for w in words if w.startswith("+") and "%" in w), "%FT%T")
    return moment.strftime(fmt.replace("%F", "%Y-%m-%d").replace("%T", "%H:%M:%S"))


def commands_in(text: str) -> Iterator[tuple[list[str], tuple[str, ...]]]:
    """The shell commands of one line of shell, as words, and the ``$(…)`` their marks stand for."""
    substitutions: list[str] = []

    def mark(match: re.Match[str]) -> str:
        substitutions.append(match[1])
        return f"\ue000{len(substitutions) - 1}\ue000"

    lexer = shlex.shlex(_SUBSTITUTION.sub(mark, text), posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    words: list[str] = []
    for word in [*lexer, ";"]:
        if word.strip(";&|"):
            words.append(word)
        elif words:
            yield words, tuple(substitutions)
            words = []


def ours(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The program and arguments when the command runs ours, after any wrapper or variables."""
    for i, word in enumerate(words):
        if Path(word).name == PROGRAM:
            return (PROGRAM,), tuple(words[i + 1 :])
        module = words[i + 2] if words[i + 1 : i + 2] == ["-m"] and i + 2 < len(words) else ""
        if re.fullmatch(r"python[\d.]*", Path(word).name) and module.startswith(OUR_MODULES):
            return ("python", "-m", module), tuple(words[i + 3 :])
    return None


def discover(text: str, name: str) -> Iterator[Shown]:
    """Every command of ours that the README ``name`` shows, in code blocks and in inline code."""
    for block in _FENCE.finditer(text):
        if block[1].lower() in NOT_SHELL:
            continue
        lines = block[2].split("\n")
        first = text.count("\n", 0, block.start(2)) + 1
        i = 0
        while i < len(lines):
            where, line = f"{name}:{first + i}", lines[i]
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + " " + lines[i]
            i += 1
            if PROGRAM in line or OUR_MODULES in line:
                for words, substitutions in commands_in(line):
                    if found := ours(words):
                        yield Shown(where, False, *found, substitutions)
    prose = _FENCE.sub(lambda m: "\n" * m[0].count("\n"), text)
    for span in _INLINE.finditer(prose):
        if len(span[1].split()) > 1 and ours(span[1].split()):
            where = f"{name}:{prose.count(chr(10), 0, span.start()) + 1}"
            for words, substitutions in commands_in(span[1]):
                if found := ours(words):
                    yield Shown(where, True, *found, substitutions)


def readme_commands() -> list[Shown]:
    """The commands of every README, each once (the first place that shows it names it)."""
    shown: dict[str, Shown] = {}
    for readme in READMES:
        for s in discover(readme.read_text(encoding="utf-8"), str(readme.relative_to(ROOT))):
            shown.setdefault(s.text, s)
    return list(shown.values())


SHOWN = readme_commands()


def shown_as(shown: Shown) -> str:
    return f"{shown.where} {shown.text}"


def test_the_readmes_show_commands_in_code_blocks_and_tables() -> None:
    """The discovery itself: if the README's shapes change, this says so before others pass empty."""
    blocks = [s for s in SHOWN if not s.inline]
    cells = [s for s in SHOWN if s.inline and "[" in s.text]
    assert blocks and cells, [s.text for s in SHOWN]


def test_discovery_reads_shell_as_written() -> None:
    readme = """
```sh
python3 -m venv .venv && .venv/bin/booking-notify status 1   # comment
X=1 .venv/bin/booking-notify book --chat-id N \\
  --start "$(date -u -d '+3 min' +%FT%T)" --end ISO --title "Court 3" | tee log
python -m booking_notifications.testing.fake_telegram --port 8081; echo done
```

```python
booking-notify = "not a command"
```

| `booking-notify list [--status S] [...]` | `booking-notify` alone is a name |
"""
    shown = list(discover(readme, "tests/README.md"))
    assert [(s.where, s.program, s.args[:3]) for s in shown] == [
        ("tests/README.md:3", (PROGRAM,), ("status", "1")),
        ("tests/README.md:4", (PROGRAM,), ("book", "--chat-id", "N")),
        ("tests/README.md:6", ("python", "-m", "booking_notifications.testing.fake_telegram"), ("--port", "8081")),
        ("tests/README.md:13", (PROGRAM,), ("list", "[--status", "S]")),
    ]  # fmt: skip
    assert shown[1].text == (
        """booking-notify book --chat-id N --start "$(date -u -d '+3 min' +%FT%T)" --end ISO"""
        ' --title "Court 3"'
    )
    book = shown[1].variants()[0]
    assert book[:3] == ["book", "--chat-id", "42"] and book[-2:] == ["--title", "Court 3"]
    start = datetime.fromisoformat(book[4]).replace(tzinfo=UTC)
    assert timedelta(minutes=2) < start - datetime.now(UTC) <= timedelta(minutes=3)
    assert datetime.fromisoformat(book[6]) > datetime.now(UTC) + timedelta(minutes=59)
    assert shown[3].variants() == [["list", "--status", "PENDING"], ["list"]]


@pytest.mark.parametrize("shown", [s for s in SHOWN if s.program == (PROGRAM,)], ids=shown_as)
def test_every_readme_command_parses(shown: Shown, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in shown.variants():
        try:
            parser().parse_args(argv)
        except SystemExit as exit:
            if exit.code:
                pytest.fail(f"{shown.where}: `{shlex.join(argv)}`: {capsys.readouterr().err}")


def subcommands() -> list[str]:
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return list(actions[0].choices)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["", *subcommands()])
async def test_every_subcommand_answers_help(name: str) -> None:
    code, out, err = await run_cli(*name.split(), "--help", env=cli_env())
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: {PROGRAM} {name}".rstrip()), out


def test_the_readme_shows_every_subcommand() -> None:
    shown = {s.name for s in SHOWN if s.program == (PROGRAM,)}
    assert set(subcommands()) <= shown, "README.md shows no command for these"


# Running for real: the commands that need nothing beyond this machine and a few seconds.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option``'s value replaced, or the option added when it is not there."""
    if option in argv:
        i = argv.index(option)
        return [*argv[: i + 1], value, *argv[i + 2 :]]
    return [*argv, option, value]


async def runs_fake_telegram(command: list[str], tmp_path: Path) -> None:
    port = free_port()
    command = with_option(command, "--port", str(port))
    token = command[command.index("--token") + 1] if "--token" in command else DEFAULT_TOKEN
    process = await asyncio.create_subprocess_exec(
        *command, env=cli_env(), cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    async def answers_get_me() -> bool:
        assert process.returncode is None, "it exited before answering"
        with contextlib.suppress(aiohttp.ClientConnectionError):
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/bot{token}/getMe") as reply,
            ):
                return reply.status == 200 and (await reply.json())["ok"] is True
        return False

    try:
        await eventually(answers_get_me, within=30)
        process.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, out.decode()
        assert f"fake Telegram Bot API on http://127.0.0.1:{port}" in out.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def runs_migrate(command: list[str], tmp_path: Path) -> None:
    env = cli_env(DATABASE_URL=f"sqlite:///{tmp_path / 'readme.db'}")
    code, out, err = await run_cli(*command[1:], env=env, cwd=tmp_path)
    assert (code, err) == (0, "") and "is up to date" in out


RUNS: dict[str, Callable[[list[str], Path], Awaitable[None]]] = {
    "fake-telegram": runs_fake_telegram,
    "booking_notifications.testing.fake_telegram": runs_fake_telegram,
    "migrate": runs_migrate,
}


def executable(shown: Shown) -> list[str]:
    return [CLI] if shown.program == (PROGRAM,) else [sys.executable, *shown.program[1:]]


def test_every_python_m_command_is_run() -> None:
    """``python -m`` commands have no parser to check against here: each must have a run."""
    assert [s.where for s in SHOWN if s.program != (PROGRAM,) and s.name not in RUNS] == []


@pytest.mark.slow
@pytest.mark.parametrize("shown", [s for s in SHOWN if s.name in RUNS], ids=shown_as)
async def test_readme_command_runs_as_written(shown: Shown, tmp_path: Path) -> None:
    await RUNS[shown.name]([*executable(shown), *shown.variants()[0]], tmp_path)
