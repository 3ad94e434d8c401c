"""The fake Telegram's update queue, handed to the bot by long polling or POSTed to its webhook.

Modelled on the Bot API server's own code (tdlib/telegram-bot-api), because aiogram and the bot
react to its exact answers:

* an update waits in the queue until confirmed: by ``getUpdates`` with a higher ``offset``, or by
  a 2xx answer from the webhook. ``allowed_updates`` (sticky, from either method) decides which
  updates are queued at all; chat_member and reactions are left out by default.
* one long poll at a time: a second ``getUpdates`` that has to wait ends the first with 409
  "terminated by other getUpdates request", ``setWebhook`` with "terminated by setWebhook
  request", and ``getUpdates`` while a webhook is set is 409 too. A second such conflict within
  ``conflict_repeat_delay`` seconds (3 on Telegram) is answered that much later.
* a webhook gets one POST per update, ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set.
  A non-2xx answer, a refused connection or a timeout keeps the update queued: the first retry is
  immediate, then after 2, 4, 8... times ``webhook_retry_delay`` (1 s on Telegram, capped at a
  minute) or the ``Retry-After`` the webhook gave. Updates of one chat (of one user, for taps) go
  in order; a refused one does not hold back the others. A 2xx answer may carry a method call,
  which is run, as Telegram does.
* ``setWebhook`` with a URL at most once a second (429 retry after 1); an invalid one deletes the
  old webhook first, as on Telegram.

Not modelled: HTTPS and its ports (the fake behaves like a Bot API server run with ``--local``),
``max_connections`` (one delivery at a time), updates expiring (after 24 h, taps after 150 s),
the short-poll throttling of repeated ``getUpdates`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from yarl import URL

from booking_notifications.testing.fake_chats import Refusal, Reply, bad_request, flag, ok

UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "managed_bot",
        "guest_message",
    }
)
DEFAULT_UPDATE_TYPES = UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
FIRST_UPDATE_ID = 100_000_001
LONG_POLL_MAX_TIMEOUT = 50
MAX_RETRY_DELAY = 60.0
SECRET_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
OTHER_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
NOT_IN_WEBHOOK_REPLY = ("setwebhook", "deletewebhook", "close", "logout")

Execute = Callable[[str, dict[str, Any]], Awaitable[object]]


@dataclass
class PendingUpdate:
    """An update not yet confirmed; ``queue`` orders webhook deliveries (per chat or user)."""

    update: dict[str, Any]
    queue: Hashable
    fails: int = 0
    retry_at: float = 0.0

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook: its HTTP status, or the error Telegram reports."""

    update_id: int
    url: str
    secret_token: str | None
    status: int | None
    error: str | None
    monotonic: float

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_token: str
    max_connections: int


def _integer(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(str(params.get(name, default)).strip() or default)
    except ValueError:
        value = default
    return min(max(value, low), high)


def _valid_url(url: str) -> bool:
    try:
        parsed = URL(url if "://" in url else f"https://{url}")
    except ValueError:
        return False
    return (
        parsed.scheme in ("http", "https")
        and bool(parsed.host)
        and not any(c.isspace() for c in url)
    )


def _ip_address(url: str) -> str:
    """What getWebhookInfo shows as the webhook's address: an IP given in the URL, or unknown."""
    try:
        return str(ipaddress.ip_address(URL(url).host or ""))
    except ValueError:
        return "<unknown>"  # Telegram would resolve the name; the fake does not


class Updates:
    """The queue of one bot's updates and the two ways it is emptied."""

    def __init__(self, execute: Execute, notify: Callable[[], None]) -> None:
        self.execute = execute
        """Runs a method call found in a webhook's answer."""
        self.notify = notify
        self.pending: list[PendingUpdate] = []
        self.skipped: list[dict[str, Any]] = []
        """Updates not queued because ``allowed_updates`` left their type out."""
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.webhook: Webhook | None = None
        self.deliveries: list[WebhookDelivery] = []
        self.last_error: tuple[int, str] | None = None
        """(unix time, message) of the last failed delivery, as getWebhookInfo reports it."""
        self.webhook_retry_delay = 0.1
        """Base of the retry backoff (Telegram's is 1 s): retries after 0, 2, 4, 8... times it."""
        self.webhook_timeout = 10.0
        """Seconds the fake waits for the webhook's answer before counting the POST as failed."""
        self.conflict_repeat_delay = 3.0
        """A 409 within this many seconds of the last one is answered this much later."""
        self.set_webhook_interval = 1.0
        """Telegram takes ``setWebhook`` with a URL at most once a second (429 retry after 1)."""
        self._next_update_id = FIRST_UPDATE_ID
        self._long_poll: asyncio.Future[str | None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._stopped: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._next_conflict_time = 0.0
        self._next_set_webhook_time = 0.0
        self._closed = False
        self._interrupted = asyncio.Event()

    def clear(self) -> None:
        """Forget updates, the webhook and its history; a waiting long poll returns []."""
        self.pending.clear()
        self.skipped.clear()
        self.deliveries.clear()
        self.allowed = DEFAULT_UPDATE_TYPES
        self._stop_sender()
        self.webhook, self.last_error = None, None
        self._next_conflict_time = self._next_set_webhook_time = 0.0
        self._end_long_poll(None)
        self._interrupt()

    def open(self) -> None:
        self._closed = False

    async def close(self) -> None:
        """Stop delivering and answer a waiting long poll, so the server can shut down."""
        self._closed = True
        self._end_long_poll(None)
        self._interrupt()
        self._stop_sender()
        for sender in list(self._stopped):
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if self._session is not None:
            await self._session.close()
            self._session = None

    def push(self, update: dict[str, Any], queue: Hashable) -> dict[str, Any] | None:
        """Queue ``update`` under a new ``update_id``; ``None`` if its type is not allowed."""
        kind = next((key for key in update if key != "update_id"), "")
        if kind not in self.allowed:
            self.skipped.append(update)
            return None
        numbered = {"update_id": self._next_update_id}
        numbered.update((key, value) for key, value in update.items() if key != "update_id")
        self._next_update_id += 1
        self.pending.append(PendingUpdate(numbered, queue))
        self._end_long_poll(None)
        self._wake_sender()
        return numbered

    # -- allowed_updates ------------------------------------------------------------------

    def _allow(self, value: object) -> None:
        """Telegram's rule: unreadable or absent keeps the setting, no known type is the default."""
        if isinstance(value, str):
            if not value:
                return
            try:
                value = json.loads(value)
            except ValueError:
                return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return
        known = frozenset(v.lower() for v in value) & UPDATE_TYPES
        self.allowed = known or DEFAULT_UPDATE_TYPES

    # -- long polling ---------------------------------------------------------------------

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self.pending = self.pending[offset:]
        elif 0 < offset <= self._next_update_id + 10:  # further on, Telegram confirms nothing
            self.pending = [p for p in self.pending if p.update_id >= offset]

    def _end_long_poll(self, outcome: str | None) -> None:
        """Wake the waiting long poll: to answer (``None``) or to fail with a 409 message."""
        poll, self._long_poll = self._long_poll, None
        if poll is not None and not poll.done():
            poll.set_result(outcome)

    async def _conflict(self, description: str) -> Reply:
        """409, delayed when another conflict was answered less than 3 s ago (Telegram's rule)."""
        now = time.monotonic()
        if now < self._next_conflict_time:
            with contextlib.suppress(TimeoutError):  # clear() and close() end the wait
                await asyncio.wait_for(self._interrupted.wait(), self.conflict_repeat_delay)
        else:
            self._next_conflict_time = now + self.conflict_repeat_delay
        return Refusal(409, description).reply()

    def _interrupt(self) -> None:
        self._interrupted.set()
        self._interrupted = asyncio.Event()

    @property
    def polling(self) -> bool:
        """Whether a long poll is waiting for updates."""
        return self._long_poll is not None

    async def get_updates(self, params: dict[str, Any]) -> Reply:
        if self.webhook is not None:
            return await self._conflict(WEBHOOK_ACTIVE)
        offset = _integer(params, "offset", 0, -(1 << 31), (1 << 31) - 1)
        limit = _integer(params, "limit", 100, 1, 100)
        timeout = _integer(params, "timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
        self._allow(params.get("allowed_updates"))
        self._confirm(offset)
        if not self.pending and timeout > 0 and not self._closed:
            self._end_long_poll(OTHER_GET_UPDATES)
            poll = self._long_poll = asyncio.get_running_loop().create_future()
            self.notify()
            try:
                outcome = await asyncio.wait_for(poll, timeout)
            except TimeoutError:
                outcome = None
            finally:
                if self._long_poll is poll:
                    self._long_poll = None
            if outcome is not None:
                return await self._conflict(outcome)
        self.notify()
        return ok([p.update for p in self.pending[:limit]])

    # -- webhooks -------------------------------------------------------------------------

    def set_webhook(self, params: dict[str, Any], url: str) -> Reply:
        """``setWebhook`` (and, with ``url`` empty, ``deleteWebhook``), step by step as Telegram."""
        now = time.monotonic()
        if url:
            if now < self._next_set_webhook_time:
                return Refusal(429, "Too Many Requests: retry after 1", retry_after=1).reply()
            self._next_set_webhook_time = now + self.set_webhook_interval
        wanted = None
        if url:
            secret = str(params.get("secret_token") or "")
            wanted = Webhook(url, secret, _integer(params, "max_connections", 40, 1, 100))
        drop = flag(params.get("drop_pending_updates"))
        if wanted == self.webhook and not drop:
            self._allow(params.get("allowed_updates"))
            return ok(True, "Webhook is already set" if url else "Webhook is already deleted")
        if url:
            self._end_long_poll(BY_SET_WEBHOOK)
        was_set = self.webhook is not None
        self._stop_sender()
        self.webhook, self.last_error = None, None
        if drop:
            self.pending.clear()
        if wanted is None:
            return ok(True, "Webhook was deleted" if was_set else "Webhook is already deleted")
        if not _valid_url(url):
            raise bad_request("invalid webhook URL specified")
        if len(wanted.secret_token) > 256:
            raise bad_request("secret token is too long")
        if not set(wanted.secret_token) <= SECRET_CHARACTERS:
            raise bad_request("secret token contains unallowed characters")
        self._allow(params.get("allowed_updates"))
        self.webhook = wanted
        self._sender = asyncio.get_running_loop().create_task(self._send_forever(wanted))
        return ok(True, "Webhook was set")

    def webhook_info(self) -> Reply:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.last_error
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            info["ip_address"] = _ip_address(self.webhook.url)
        if self.allowed != DEFAULT_UPDATE_TYPES:
            info["allowed_updates"] = sorted(self.allowed)
        return ok(info)

    def _stop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            self._stopped.add(sender)  # awaited by close(), so no task outlives the server
            sender.add_done_callback(self._stopped.discard)

    def _wake_sender(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _next_ready(self, now: float) -> tuple[PendingUpdate | None, float]:
        """The oldest update first in its queue and due; else how long until one is due."""
        seen: set[Hashable] = set()
        wait = 3600.0
        for item in self.pending:
            if item.queue in seen:
                continue
            seen.add(item.queue)
            if item.retry_at <= now:
                return item, 0.0
            wait = min(wait, item.retry_at - now)
        return None, wait

    async def _send_forever(self, webhook: Webhook) -> None:
        while self.webhook is webhook:
            item, wait = self._next_ready(time.monotonic())
            if item is None:
                self._wakeup = asyncio.get_running_loop().create_future()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup, wait)
                continue
            await self._deliver(webhook, item)

    async def _deliver(self, webhook: Webhook, item: PendingUpdate) -> None:
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        if self._session is None:
            self._session = aiohttp.ClientSession()
        status, error, retry_after, call = None, None, 0.0, None
        try:
            async with self._session.post(
                webhook.url,
                data=json.dumps(item.update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                status = response.status
                if 200 <= status <= 299:
                    call = await _method_call(response)
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
                    with contextlib.suppress(ValueError):
                        retry_after = float(response.headers.get("Retry-After", "0"))
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except aiohttp.ClientError:
            error = "Webhook connection closed"
        self.deliveries.append(
            WebhookDelivery(
                item.update_id,
                webhook.url,
                webhook.secret_token or None,
                status,
                error,
                time.monotonic(),
            )
        )
        if error is None:
            if item in self.pending:
                self.pending.remove(item)
            if call is not None:
                await self.execute(*call)
        else:
            self.last_error = (int(time.time()), error)
            item.fails += 1
            delay = retry_after or (
                0.0 if item.fails == 1 else self.webhook_retry_delay * 2 ** (item.fails - 1)
            )
            item.retry_at = time.monotonic() + min(delay, MAX_RETRY_DELAY)
        self.notify()


async def _method_call(response: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """A Bot API call in a webhook's 2xx answer (JSON, form or multipart), as Telegram runs it."""
    params: dict[str, Any] = {}
    try:
        if response.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(response)
            while (part := await reader.next()) is not None:
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    params[part.name] = await part.text()
        else:
            body = await response.read()
            if response.content_type == "application/json":
                decoded = json.loads(body or b"{}")
                params = decoded if isinstance(decoded, dict) else {}
            elif response.content_type == "application/x-www-form-urlencoded":
                params = dict(parse_qsl(body.decode(errors="replace")))
    except ValueError:
        return None  # an unreadable answer is still a 2xx: the update was delivered
    method = str(params.pop("method", ""))
    name = method.lower()
    if not name or name in NOT_IN_WEBHOOK_REPLY or name.startswith("get"):
        return None
    return method, params
