"""A local fake of the Telegram Bot API, so tests and benchmarks never touch the real Telegram.

It mirrors the parts of Telegram that the notifier has to cope with, in Telegram's own shapes,
so aiogram raises the same exceptions it would in production:

* ``/bot{token}/{method}`` over GET or POST with form, multipart or JSON parameters; method
  names are case-insensitive; a wrong token is 401 (``token`` may change while it runs: a revoked
  token), a path whose token is not ``<digits>:<secret>`` and an unknown method 404.
* ``getMe`` and ``sendMessage`` (real-shaped ``Message`` objects, ids increasing per chat). More
  methods are entries of ``FakeTelegram.methods``.
* groups upgraded to supergroups (``migrate``): a send to the old id is 400 with
  ``parameters.migrate_to_chat_id``, the new id is a ``supergroup`` chat.
* flood control: at most ``global_rate`` messages per sliding second overall and
  ``per_chat_rate`` per chat, else 429 with ``parameters.retry_after`` (seconds, rounded up);
  rejected requests do not use up the window.
* 403 for chats that blocked the bot, 400 for unknown chats, empty or too long text
  (4096 characters after HTML parsing) and malformed HTML.
* outages: random 500s (``fault_rate``, seeded) and "down for N seconds" (``fail_for``, 502).
* something else answering in Telegram's place (``impostor``, a ``ProxyReply``): a proxy's HTML
  error page that echoes the requested path (token included, as Apache does), an empty or
  non-JSON body, a body cut short, a dropped connection, an answer that never comes in time.

Run it stand-alone with ``python -m booking_notifications.testing.fake_telegram --port 8081``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from types import TracebackType
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456:TEST-TOKEN"
MAX_TEXT_LENGTH = 4096
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
HTML_TAGS |= {"tg-spoiler", "span", "blockquote"}
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
TOKEN_FORM = re.compile(r"^\d+:[\w-]+$")
"""What Telegram routes as a token; any other path segment is 404 Not Found, not 401."""
SUPERGROUP_IDS = -1_000_000_000_000
"""Supergroup and channel ids are -100 followed by the id: below this."""
APACHE_NOT_FOUND = b"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL {path} was not found on this server.</p>
</body></html>
"""

log = logging.getLogger("booking_notifications.testing.fake_telegram")

Reply = tuple[int, dict[str, Any]]
Method = Callable[["RecordedRequest", dict[str, Any]], Reply]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RecordedRequest:
    """One request as the server saw it, so tests can assert on what was sent and when."""

    monotonic: float
    wall: float
    method: str
    chat_id: int | None
    text: str | None
    parse_mode: str | None
    status: int = 0
    message_id: int | None = None
    description: str | None = None


@dataclass
class ProxyReply:
    """What something standing where the Bot API should be answers instead of Telegram.

    ``{path}`` in ``body`` becomes the requested path, token included, as a web server's "The
    requested URL ... was not found" page has it. ``cut_after`` sends the headers (declaring the
    whole body) and that many bytes of the body, then drops the connection; ``drop`` drops it
    before answering anything; ``delay`` holds the answer back that many seconds.
    """

    status: int = 404
    body: bytes = APACHE_NOT_FOUND
    content_type: str = "text/html; charset=iso-8859-1"
    cut_after: int | None = None
    drop: bool = False
    delay: float = 0.0


def _error(status: int, description: str, **parameters: int) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


class _HTMLError(Exception):
    pass


class _TelegramHTML(HTMLParser):
    """Validates Telegram's HTML subset and collects the visible text (what Telegram counts)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.parts: list[str] = []
        self.open_tags: list[str] = []
        self.line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(index + 1)

    def _offset(self, extra: int = 0) -> int:
        line, column = self.getpos()
        index = self.line_starts[line - 1] + column + extra
        return len(self.source[:index].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise _HTMLError(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            raise _HTMLError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset()}'
            )
        self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags:
            raise _HTMLError(f"Unexpected end tag at byte offset {self._offset()}")
        if self.open_tags[-1] != tag:
            raise _HTMLError(
                f"Unmatched end tag at byte offset {self._offset()}, "
                f'expected "</{self.open_tags[-1]}>", found "</{tag}>"'
            )
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            offset = self._offset(data.index("<"))
            raise _HTMLError(f"Can't find end of the tag at byte offset {offset}")
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(HTML_ENTITIES.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            self.parts.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))
        except ValueError as exc:
            raise _HTMLError(
                f"Invalid character reference at byte offset {self._offset()}"
            ) from exc

    def handle_comment(self, data: str) -> None:
        raise _HTMLError(f'Unsupported start tag "!" at byte offset {self._offset()}')

    handle_pi = unknown_decl = handle_comment

    def handle_decl(self, decl: str) -> None:
        self.handle_comment(decl)

    def visible_text(self) -> str:
        self.feed(self.source)
        self.close()
        if self.open_tags:
            tag = self.open_tags[-1]
            raise _HTMLError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.parts)


def _parse_chat_id(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    return None


class FakeTelegram:
    """An in-process Bot API server; every attribute may be changed while it runs."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        global_rate: int | None = 30,
        per_chat_rate: int | None = 1,
        blocked: Iterable[int] = (),
        unknown: Iterable[int] = (),
        fault_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.token = token
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.blocked: set[int] = set(blocked)
        self.unknown: set[int] = set(unknown)
        self.fault_rate = fault_rate
        self.random = random.Random(seed)
        self.fail_all_until: float | None = None
        self.migrated: dict[int, int] = {}
        """Group chat id -> the id of the supergroup it was upgraded to."""
        self.impostor: ProxyReply | None = None
        """While set, every request gets this answer instead of the Bot API's."""
        self.methods: dict[str, Method] = {"getMe": self._get_me, "sendMessage": self._send_message}
        self.requests: list[RecordedRequest] = []
        self.url = ""
        bot_id = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Fake Booking Bot",
            "username": "fake_booking_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._sent_times: deque[float] = deque()
        self._chat_times: dict[int, deque[float]] = {}
        self._next_message_id: dict[int, int] = {}
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[self._impersonate])
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.app.router.add_route("*", "/{tail:.*}", self._not_found)

    @property
    def sent(self) -> list[RecordedRequest]:
        """Messages Telegram accepted, i.e. what users would actually have received."""
        return [r for r in self.requests if r.method == "sendMessage" and r.message_id is not None]

    def sent_to(self, chat_id: int) -> list[RecordedRequest]:
        """Messages delivered to one chat, in order."""
        return [r for r in self.sent if r.chat_id == chat_id]

    def count(self, status: int) -> int:
        """How many requests were answered with this HTTP status (e.g. 429)."""
        return sum(1 for r in self.requests if r.status == status)

    def reset(self) -> None:
        """Forget recorded requests and rate-limit windows, keeping the configuration."""
        self.requests.clear()
        self._sent_times.clear()
        self._chat_times.clear()
        self._next_message_id.clear()
        self.fail_all_until = None

    def migrate(self, chat_id: int) -> int:
        """Upgrade group ``chat_id`` to a supergroup, as Telegram does; return the new chat id."""
        new_id = SUPERGROUP_IDS - abs(chat_id)
        self.migrated[chat_id] = new_id
        return new_id

    def fail_for(self, seconds: float) -> None:
        """Simulate Telegram being down: every request gets 502 for ``seconds`` from now."""
        self.fail_all_until = time.monotonic() + seconds

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port) and return the base URL for aiogram."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Close the listening socket and open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @web.middleware
    async def _impersonate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        reply = self.impostor
        if reply is None:
            return await handler(request)
        await request.read()
        self.requests.append(
            RecordedRequest(
                monotonic=time.monotonic(),
                wall=time.time(),
                method=request.path.rsplit("/", 1)[-1],
                chat_id=None,
                text=None,
                parse_mode=None,
                status=0 if reply.drop else reply.status,
            )
        )
        await asyncio.sleep(reply.delay)
        body = reply.body.replace(b"{path}", request.path.encode())
        headers = {"Content-Type": reply.content_type}
        if reply.drop or reply.cut_after is None:
            if reply.drop and request.transport is not None:
                request.transport.close()
            return web.Response(body=body, status=reply.status, headers=headers)
        response = web.StreamResponse(status=reply.status, headers=headers)
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: reply.cut_after])
        if request.transport is not None:
            request.transport.close()
        return response

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(_error(404, "Not Found")[1], status=404)

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = {known.lower(): known for known in self.methods}.get(name.lower(), name)
        params: dict[str, Any] = dict(request.query)
        reply: Reply | None = None
        try:
            if request.content_type == "application/json":
                body = await request.json()
                params.update(body if isinstance(body, dict) else {})
            elif request.method == "POST":
                params.update(
                    (k, v) for k, v in (await request.post()).items() if isinstance(v, str)
                )
        except ValueError:
            reply = _error(400, "Bad Request: can't parse request body")
        text, parse_mode = params.get("text"), params.get("parse_mode")
        record = RecordedRequest(
            monotonic=time.monotonic(),
            wall=time.time(),
            method=method,
            chat_id=_parse_chat_id(params.get("chat_id")),
            text=None if text is None else str(text),
            parse_mode=None if parse_mode is None else str(parse_mode),
        )
        status, payload = reply or self._dispatch(request.match_info["token"], record, params)
        record.status = status
        record.description = payload.get("description")
        if method == "sendMessage" and status == 200:
            record.message_id = payload["result"]["message_id"]
        self.requests.append(record)
        note = f" {record.description}" if record.description else ""
        log.info("%s chat=%s status=%s%s", method, record.chat_id, status, note)
        return web.json_response(payload, status=status)

    def _dispatch(self, token: str, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        if self.fail_all_until is not None and record.monotonic < self.fail_all_until:
            return _error(502, "Bad Gateway")
        if not TOKEN_FORM.match(token):
            return _error(404, "Not Found")
        if token != self.token:
            return _error(401, "Unauthorized")
        method = self.methods.get(record.method)
        if method is None:
            return _error(404, "Not Found: method not found")
        if self.fault_rate > 0 and self.random.random() < self.fault_rate:
            return _error(500, "Internal Server Error")
        return method(record, params)

    def _get_me(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return 200, {"ok": True, "result": self.bot_user}

    def _send_message(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        chat_id, text = record.chat_id, record.text or ""
        if params.get("chat_id") in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        if chat_id is None or chat_id in self.unknown:
            return _error(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            return _error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated[chat_id],
            )
        mode = (record.parse_mode or "").lower()
        if mode not in ("", "html", "markdown", "markdownv2"):
            return _error(400, f"Bad Request: unsupported parse_mode {record.parse_mode!r}")
        if mode == "html":
            try:
                text = _TelegramHTML(text).visible_text()
            except _HTMLError as exc:
                return _error(400, f"Bad Request: can't parse entities: {exc}")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            return _error(400, "Bad Request: message is too long")
        now = record.monotonic
        chat_window = self._chat_times.setdefault(chat_id, deque())
        wait = max(
            self._wait(self._sent_times, self.global_rate, now),
            self._wait(chat_window, self.per_chat_rate, now),
        )
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            return _error(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        self._sent_times.append(now)
        chat_window.append(now)
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message = {
            "message_id": message_id,
            "date": int(record.wall),
            "chat": _chat(chat_id),
            "from": self.bot_user,
            "text": text,
        }
        return 200, {"ok": True, "result": message}

    @staticmethod
    def _wait(window: deque[float], rate: int | None, now: float) -> float:
        """Seconds until ``window`` has room for one more message under ``rate`` per second."""
        while window and window[0] <= now - 1.0:
            window.popleft()
        if rate is None or len(window) < rate:
            return 0.0
        if rate <= 0:
            return 1.0
        return window[len(window) - rate] + 1.0 - now


def _chat(chat_id: int) -> dict[str, Any]:
    """The ``Chat`` object Telegram shows for an id: a user, a group or a supergroup."""
    if chat_id >= 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    if chat_id <= SUPERGROUP_IDS:
        return {"id": chat_id, "type": "supergroup", "title": f"Supergroup {chat_id}"}
    return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def _rate(value: str) -> int | None:
    return None if value.lower() in ("none", "off", "0") else int(value)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(
        token=args.token,
        global_rate=args.global_rate,
        per_chat_rate=args.per_chat_rate,
        blocked=args.blocked,
        unknown=args.unknown,
        fault_rate=args.fault_rate,
        seed=args.seed,
    )
    for group in args.migrated:
        print(f"group {group} is now supergroup {fake.migrate(group)}", flush=True)
    url = await fake.start(args.host, args.port)
    print(f"fake Telegram Bot API on {url} (token {fake.token})", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the fake server until Ctrl-C or SIGTERM, logging one line per request to stdout."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Fake Telegram Bot API server for local testing."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--global-rate", type=_rate, default=30, help="messages/s; 0 = unlimited")
    parser.add_argument("--per-chat-rate", type=_rate, default=1, help="per chat; 0 = unlimited")
    parser.add_argument("--blocked", type=_ids, default=[], help="comma-separated chat ids")
    parser.add_argument("--unknown", type=_ids, default=[], help="comma-separated chat ids")
    parser.add_argument(
        "--migrated", type=_ids, default=[], help="groups upgraded to supergroups: --migrated=-1,-2"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    finally:
        log.removeHandler(handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
