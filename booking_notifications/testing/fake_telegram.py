"""A local fake of the Telegram Bot API, so tests and benchmarks never touch the real Telegram.

It mirrors the parts of Telegram that the notifier and the bot have to cope with, in Telegram's
own shapes, so aiogram parses what it would and raises the same exceptions it would in production:

* ``/bot{token}/{method}`` over GET or POST with form, multipart or JSON parameters; method
  names are case-insensitive; a wrong token is 401 (``token`` may change while it runs: a revoked
  token), a path whose token is not ``<digits>:<secret>`` and an unknown method 404.
* ``getMe`` (``username`` is configurable) and ``sendMessage`` (real-shaped ``Message`` objects
  with their inline keyboards and HTML entities; ids increase per chat, shared with what users
  write there). More methods are entries of ``FakeTelegram.methods``.
* ``date_time`` entities (Bot API 9.5), as ``<tg-time unix=… format=…>`` in HTML or in an explicit
  ``entities`` array: the Unix time must be one, the format must follow ``r|w?[dD]?[tT]?``, and
  explicit offsets and lengths must lie inside the text counted in UTF-16 code units.
* the two-way bot: ``editMessageText``, ``editMessageReplyMarkup`` and ``answerCallbackQuery``
  over the messages the fake keeps (``fake_chats``); ``getUpdates``, ``setWebhook``,
  ``deleteWebhook`` and ``getWebhookInfo`` over its update queue (``fake_updates``); and the
  test's side, playing the users: ``user_says``, ``user_taps``, ``user_follows_link``,
  ``user_blocks_bot``, ``queue_update`` (``fake_users``).
* groups upgraded to supergroups (``migrate``): a send to the old id is 400 with
  ``parameters.migrate_to_chat_id``, the new id is a ``supergroup`` chat.
* flood control: at most ``global_rate`` messages per sliding second overall (``paid_rate``,
  1,000, for those sent with ``allow_paid_broadcast``) and
  ``per_chat_rate`` per chat, else 429 with ``parameters.retry_after`` (seconds, rounded up);
  rejected requests do not use up the window. Edits and answers are not limited.
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
import dataclasses
import logging
import math
import random
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from booking_notifications.testing.fake_chats import (
    MAX_TEXT_LENGTH,
    SUPERGROUP_IDS,
    Button,
    CallbackAnswer,
    CallbackQuery,
    Chats,
    MessageVersion,
    Refusal,
    Reply,
    StoredMessage,
    TelegramUser,
    bad_request,
    ok,
    parse_reply_markup,
    parse_text,
)
from booking_notifications.testing.fake_html import _TelegramHTML as _TelegramHTML  # tests use it
from booking_notifications.testing.fake_updates import Updates, Webhook, WebhookDelivery
from booking_notifications.testing.fake_users import PlayingUsers

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USERNAME",
    "Button",
    "CallbackAnswer",
    "CallbackQuery",
    "FakeTelegram",
    "ProxyReply",
    "RecordedRequest",
    "StoredMessage",
    "TelegramUser",
    "Webhook",
    "WebhookDelivery",
    "main",
]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
DEFAULT_USERNAME = "fake_booking_bot"
PAID_RATE = 1000
"""Messages a second Telegram allows a bot that pays for them (``allow_paid_broadcast``)."""
TOKEN_FORM = re.compile(r"^\d+:[\w-]+$")
"""What Telegram routes as a token; any other path segment is 404 Not Found, not 401."""
APACHE_NOT_FOUND = b"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL {path} was not found on this server.</p>
</body></html>
"""
EDITS = ("editMessageText", "editMessageReplyMarkup")

log = logging.getLogger("booking_notifications.testing.fake_telegram")

Method = Callable[["RecordedRequest", dict[str, Any]], Reply | Awaitable[Reply]]
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
    params: dict[str, Any] = field(default_factory=dict)
    webhook_reply: bool = False
    """Called by answering a webhook POST rather than by a request of its own."""


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


def _parse_chat_id(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    return None


class FakeTelegram(PlayingUsers):
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
        username: str = DEFAULT_USERNAME,
    ) -> None:
        self.token = token
        self.global_rate = global_rate
        self.paid_rate = PAID_RATE
        """Messages a second overall for a message sent with ``allow_paid_broadcast``."""
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
        self.callback_answer_timeout: float | None = 15.0
        """Seconds after a tap when Telegram stops accepting its answer (about 15 s observed)."""
        self.chats = Chats()
        self.updates = Updates(self._run_webhook_reply, self._notify)
        self.methods: dict[str, Method] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        self.requests: list[RecordedRequest] = []
        self.url = ""
        bot_id = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Fake Booking Bot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        """What ``getMe`` answers; messages show its id, first name and username as ``from``."""
        self._sent_times: deque[float] = deque()
        self._chat_times: dict[int, deque[float]] = {}
        self._watchers: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[self._impersonate])
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.app.router.add_route("*", "/{tail:.*}", self._not_found)

    # -- what tests look at ---------------------------------------------------------------

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

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        """A message as it is now, with its versions; ``LookupError`` if there is none."""
        return self.chats.find(chat_id, message_id)

    def messages_to(self, chat_id: int) -> list[StoredMessage]:
        """What the bot sent to a chat, in order, each as it is now (edits applied)."""
        return [m for m in self.chats.in_chat(chat_id) if m.by_bot]

    def buttons(self, chat_id: int, message_id: int) -> list[Button]:
        """The inline buttons a message shows now: labels and callback data."""
        return self.message(chat_id, message_id).buttons()

    def callback_query(self, query_id: str) -> CallbackQuery:
        """A tap and the answers the bot gave to it."""
        return self.chats.callbacks[query_id]

    @property
    def callback_queries(self) -> list[CallbackQuery]:
        """Every tap, in order, with the answers given to it (one each, if the bot is right)."""
        return list(self.chats.callbacks.values())

    def unanswered_callbacks(self) -> list[CallbackQuery]:
        """Taps the bot has not (successfully) answered: should be [] at the end of a test."""
        return [q for q in self.chats.callbacks.values() if not q.answered]

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every ``answerCallbackQuery`` call, in order, refused ones included."""
        return self.chats.callback_answers

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot."""
        return [p.update for p in self.updates.pending]

    @property
    def webhook(self) -> Webhook | None:
        """The webhook the bot set (URL, secret, max_connections), or ``None`` when polling."""
        return self.updates.webhook

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every POST of an update to the webhook, refused and failed ones included."""
        return self.updates.deliveries

    async def wait_until(self, condition: Callable[[], object], seconds: float = 5.0) -> None:
        """Return once ``condition()`` holds, checked after each request, delivery and update.

        For what the bot does in its own time (answering a tap it polled, say); raises
        ``TimeoutError`` when it still does not hold after ``seconds``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"still not true after {seconds} s: {condition!r}")
            waiter = loop.create_future()
            self._watchers.add(waiter)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, remaining)
            finally:
                self._watchers.discard(waiter)

    def _notify(self) -> None:
        for waiter in self._watchers:
            if not waiter.done():
                waiter.set_result(None)

    # -- configuration and life cycle -----------------------------------------------------

    def reset(self) -> None:
        """Forget requests, rate windows, messages, updates and the webhook; keep the options."""
        self.requests.clear()
        self._sent_times.clear()
        self._chat_times.clear()
        self.chats.clear()
        self.updates.clear()
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
        self.updates.open()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Stop webhook deliveries, answer long polls, close the socket and open connections."""
        await self.updates.close()
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

    # -- HTTP -----------------------------------------------------------------------------

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
        return web.json_response(Refusal(404, "Not Found").reply()[1], status=404)

    async def _handle(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        unreadable = None
        try:
            if request.content_type == "application/json":
                body = await request.json()
                params.update(body if isinstance(body, dict) else {})
            elif request.method == "POST":
                params.update(
                    (k, v) for k, v in (await request.post()).items() if isinstance(v, str)
                )
        except ValueError:
            unreadable = bad_request("can't parse request body")
        token, method = request.match_info["token"], request.match_info["method"]
        status, payload = await self._call(token, method, params, unreadable)
        return web.json_response(payload, status=status)

    async def _run_webhook_reply(self, method: str, params: dict[str, Any]) -> None:
        await self._call(self.token, method, params, webhook_reply=True)

    async def _call(
        self,
        token: str,
        name: str,
        params: dict[str, Any],
        refusal: Refusal | None = None,
        *,
        webhook_reply: bool = False,
    ) -> Reply:
        method = {known.lower(): known for known in self.methods}.get(name.lower(), name)
        text, parse_mode = params.get("text"), params.get("parse_mode")
        record = RecordedRequest(
            monotonic=time.monotonic(),
            wall=time.time(),
            method=method,
            chat_id=_parse_chat_id(params.get("chat_id")),
            text=None if text is None else str(text),
            parse_mode=None if parse_mode is None else str(parse_mode),
            params=params,
            webhook_reply=webhook_reply,
        )
        try:
            if refusal is not None:
                raise refusal
            status, payload = await self._dispatch(token, record, params)
        except Refusal as refused:
            status, payload = refused.reply()
        record.status = status
        record.description = payload.get("description")
        if status == 200 and (method == "sendMessage" or method in EDITS):
            record.message_id = payload["result"]["message_id"]
        self.requests.append(record)
        note = f" {record.description}" if record.description else ""
        log.info("%s chat=%s status=%s%s", method, record.chat_id, status, note)
        self._notify()
        return status, payload

    async def _dispatch(self, token: str, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        if self.fail_all_until is not None and record.monotonic < self.fail_all_until:
            raise Refusal(502, "Bad Gateway")
        if not TOKEN_FORM.match(token):
            raise Refusal(404, "Not Found")
        if token != self.token:
            raise Refusal(401, "Unauthorized")
        method = self.methods.get(record.method)
        if method is None:
            raise Refusal(404, "Not Found: method not found")
        if self.fault_rate > 0 and self.random.random() < self.fault_rate:
            raise Refusal(500, "Internal Server Error")
        reply = method(record, params)
        return reply if isinstance(reply, tuple) else await reply

    # -- Bot API methods ------------------------------------------------------------------

    def _sender(self) -> dict[str, Any]:
        """The bot as ``from`` of its messages: a ``User`` without getMe's capabilities."""
        return {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}

    def _get_me(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return ok(self.bot_user)

    def _chat(self, record: RecordedRequest, params: dict[str, Any]) -> int:
        """The chat a request names, if the bot may write there; else Telegram's refusal."""
        chat_id = record.chat_id
        if params.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        if chat_id is None or chat_id in self.unknown:
            raise bad_request("chat not found")
        if chat_id in self.blocked:
            raise Refusal(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            raise Refusal(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated[chat_id],
            )
        return chat_id

    def _send_message(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        chat_id = self._chat(record, params)
        text, entities, mode = parse_text(record.text, record.parse_mode, params.get("entities"))
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        markup = parse_reply_markup(params.get("reply_markup"))
        now = record.monotonic
        chat_window = self._chat_times.setdefault(chat_id, deque())
        paid = params.get("allow_paid_broadcast") in (True, "true")
        wait = max(
            self._wait(self._sent_times, self.paid_rate if paid else self.global_rate, now),
            self._wait(chat_window, self.per_chat_rate, now),
        )
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise Refusal(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        self._sent_times.append(now)
        chat_window.append(now)
        version = MessageVersion(text, entities, mode, record.text or "", markup, record.wall)
        return ok(self.chats.add(chat_id, self._sender(), version).to_json())

    def _message_to_edit(self, record: RecordedRequest, params: dict[str, Any]) -> StoredMessage:
        if params.get("chat_id") in (None, "") and not params.get("message_id"):
            if params.get("inline_message_id"):
                raise bad_request("MESSAGE_ID_INVALID")  # the fake sends no inline messages
            raise bad_request("message identifier is not specified")
        return self.chats.to_edit(self._chat(record, params), params)

    def _edit_message_text(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        text, entities, mode = parse_text(record.text, record.parse_mode, params.get("entities"))
        markup = parse_reply_markup(params.get("reply_markup"))  # none given removes the keyboard
        message = self._message_to_edit(record, params)
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        version = MessageVersion(text, entities, mode, record.text or "", markup, record.wall)
        return ok(self.chats.edit(message, version).to_json())

    def _edit_message_reply_markup(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        markup = parse_reply_markup(params.get("reply_markup"))
        message = self._message_to_edit(record, params)
        version = dataclasses.replace(message.current, reply_markup=markup, wall=record.wall)
        return ok(self.chats.edit(message, version).to_json())

    def _answer_callback_query(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return self.chats.answer(params, record.monotonic, self.callback_answer_timeout)

    async def _get_updates(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return await self.updates.get_updates(params)

    def _set_webhook(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return self.updates.set_webhook(params, str(params.get("url") or ""))

    def _delete_webhook(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return self.updates.set_webhook(params, "")

    def _get_webhook_info(self, record: RecordedRequest, params: dict[str, Any]) -> Reply:
        return self.updates.webhook_info()

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
        username=args.username,
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
    parser.add_argument("--username", default=DEFAULT_USERNAME, help="the bot's, for getMe")
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
