"""Running the bot: by long polling (one process per bot) or by webhook (behind a secret).

Telegram hands a bot's updates to one receiver. Two processes polling the same bot make Telegram
answer 409 Conflict, and so does polling while a webhook is set: either is a deployment mistake,
so the poller stops with one line saying which, instead of retrying for ever as aiogram's own
polling loop does. Other failures (network, 5xx) are retried with backoff, one line each.

A webhook is registered with a secret token; aiogram's request handler refuses every request
that does not carry it in ``X-Telegram-Bot-Api-Secret-Token``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiohttp import web
from yarl import URL

from booking_notifications.api import BookingNotifier
from booking_notifications.bot import BotConflict
from booking_notifications.bot.router import booking_router
from booking_notifications.channels import BotIdentity, DeliveryError, Misconfigured, token_secret
from booking_notifications.channels.telegram import REQUEST_TIMEOUT, TelegramChannel
from booking_notifications.channels.telegram_errors import FailedAnswer, sort
from booking_notifications.observe.bot import CountedRequestHandler, count_updates
from booking_notifications.observe.metrics import BotMetrics
from booking_notifications.settings import Settings, SettingsError, derived_key
from booking_notifications.texts.actions import signer_for
from booking_notifications.worker.supervise import supervised

log = logging.getLogger(__name__)

POLL_TIMEOUT = 25
"""Seconds a getUpdates call waits for an update (Telegram's long polling)."""
UPDATES = ["message", "callback_query"]
BACKOFF_MAX = 30.0
WEBHOOK_CONTEXT = b"booking-notifications/webhook/v1"


def token_of(settings: Settings) -> str:
    if settings.telegram_bot_token is None:
        raise SettingsError("the bot needs TELEGRAM_BOT_TOKEN")
    return settings.telegram_bot_token.get_secret_value()


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or one derived from the bot token (the same in every process)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    mac = derived_key(token_of(settings), WEBHOOK_CONTEXT)
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


async def poll(bot: Bot, dispatcher: Dispatcher) -> None:
    """Receive updates by long polling and handle them one by one, until cancelled."""
    offset: int | None = None
    delay = 1.0
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset,
                timeout=POLL_TIMEOUT,
                allowed_updates=UPDATES,
                request_timeout=REQUEST_TIMEOUT + POLL_TIMEOUT,
            )
        except Exception as err:
            failure = _conflict(err) or _sorted(err, bot)
            if isinstance(failure, BotConflict | Misconfigured):
                raise failure from None
            log.warning("cannot receive updates, retried in %g s: %s", delay, failure)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
            continue
        delay = 1.0
        for update in updates:
            offset = update.update_id + 1
            try:
                await dispatcher.feed_update(bot, update)
            except Exception:
                log.exception("update %d could not be handled", update.update_id)


async def serve_webhook(
    bot: Bot,
    dispatcher: Dispatcher,
    url: str,
    host: str,
    port: int,
    secret: str,
    metrics: BotMetrics | None = None,
) -> web.AppRunner:
    """Listen on ``host:port`` for Telegram's POSTs to ``url``'s path, then register ``url``.

    Returns the running server; ``await runner.cleanup()`` stops it (the webhook stays set, so
    Telegram keeps the updates that arrive meanwhile)."""
    app = web.Application()
    CountedRequestHandler(
        dispatcher=dispatcher, bot=bot, secret_token=secret, metrics=metrics or BotMetrics()
    ).register(app, path=URL(url).path or "/")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=UPDATES)
    except Exception as err:
        await runner.cleanup()
        raise _sorted(err, bot) from None
    return runner


def _conflict(err: Exception) -> BotConflict | None:
    error = err.error if isinstance(err, FailedAnswer) else None  # every answer comes so
    if not isinstance(error, TelegramConflictError):
        return None
    if "webhook" in error.message:
        return BotConflict(
            "a webhook is set for this bot (Telegram 409): run `booking-notify bot --webhook "
            "URL --listen HOST:PORT`, or delete the webhook to poll"
        )
    return BotConflict(
        "another process is receiving this bot's updates (Telegram 409): only one process may "
        "poll a bot; stop the other one, or use --webhook"
    )


def _sorted(err: Exception, bot: Bot) -> DeliveryError:
    """Our one-line error for a failed Bot API call (no token, no URL, no body)."""
    return sort(err, token_secret(bot.token)) or DeliveryError(type(err).__name__)


@asynccontextmanager
async def running_bot(
    settings: Settings,
    notifier: BookingNotifier,
    *,
    webhook: str | None = None,
    listen: tuple[str, int] | None = None,
    metrics: BotMetrics | None = None,
) -> AsyncIterator[BotIdentity]:
    """The bot receiving updates for the block: by webhook at ``webhook`` (listening on
    ``listen``), or by long polling. Yields who the bot is (getMe: a refused token stops here).
    A poller that stops (409: another receiver) ends the block with ``BotConflict``."""
    channel = TelegramChannel(token_of(settings), settings.telegram_api_url)
    try:
        identity = await channel.check()
        signer = signer_for(settings)
        assert signer is not None  # there is a token
        metrics = metrics or BotMetrics()
        dispatcher = Dispatcher()
        count_updates(dispatcher, metrics)
        dispatcher.include_router(booking_router(notifier, signer, metrics=metrics))
        if webhook is not None:
            host, port = listen or ("127.0.0.1", 8080)
            secret = webhook_secret(settings)
            runner = await serve_webhook(
                channel.bot, dispatcher, webhook, host, port, secret, metrics
            )
            try:
                yield identity
            finally:
                await runner.cleanup()
        else:
            async with supervised([poll(channel.bot, dispatcher)], _stopped):
                yield identity
    finally:
        await channel.close()


def _stopped(error: BaseException | None) -> Exception:
    if isinstance(error, BotConflict | DeliveryError):
        return error
    return BotConflict(f"the bot stopped receiving updates: {type(error).__name__}")
