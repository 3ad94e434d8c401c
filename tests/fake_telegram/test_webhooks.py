"""Webhooks against the fake: it POSTs each update to the bot's server as Telegram does.

An aiohttp server in the test plays the bot's endpoint (to see the secret header, or to refuse
deliveries); one test runs aiogram's own webhook handler with a Dispatcher, end to end.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.filters import CommandStart
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from booking_notifications.testing.fake_chats import TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram

ANN = TelegramUser(42, "Ann")
BOB = TelegramUser(43, "Bob")
SECRET = "s3cr3t_-TOKEN"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    server.reset()
    server.per_chat_rate = None
    server.updates.webhook_retry_delay = 0.01
    server.updates.set_webhook_interval = 1.0
    return server


class Endpoint:
    """The bot's webhook server: records each POST and answers with ``answer``."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.answer: Callable[[dict[str, Any]], web.Response] = lambda update: web.json_response({})

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.posts.append((dict(request.headers), update))
        return self.answer(update)


async def serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
async def hook_url(endpoint: Endpoint) -> AsyncIterator[str]:
    async for url in serve(endpoint.handle):
        yield url


async def info(bot: Bot) -> dict[str, Any]:
    return (await bot.get_webhook_info()).model_dump(exclude_none=True)


async def test_each_update_is_posted_with_the_secret_header(
    fake: FakeTelegram, bot: Bot, endpoint: Endpoint, hook_url: str
) -> None:
    assert await bot.set_webhook(hook_url, secret_token=SECRET)

    said = await fake.user_says(ANN.id, "/start tok")
    await fake.wait_until(lambda: not fake.pending_updates)

    [(headers, update)] = endpoint.posts
    assert update == said
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == SECRET
    assert headers["Content-Type"] == "application/json"
    assert [(d.update_id, d.status, d.ok) for d in fake.webhook_deliveries] == [
        (said["update_id"], 200, True)
    ]
    assert await info(bot) == {
        "url": hook_url,
        "has_custom_certificate": False,
        "pending_update_count": 0,
        "max_connections": 40,
        "ip_address": "127.0.0.1",
    }


async def test_without_a_secret_there_is_no_secret_header(
    fake: FakeTelegram, bot: Bot, endpoint: Endpoint, hook_url: str
) -> None:
    await bot.set_webhook(hook_url)

    await fake.user_says(ANN.id, "hi")
    await fake.wait_until(lambda: endpoint.posts)

    assert "X-Telegram-Bot-Api-Secret-Token" not in endpoint.posts[0][0]


async def test_a_refused_delivery_stays_queued_and_is_retried(
    fake: FakeTelegram, bot: Bot, endpoint: Endpoint, hook_url: str
) -> None:
    refusals = [web.Response(status=500), web.Response(status=403)]
    endpoint.answer = lambda update: refusals.pop(0) if refusals else web.json_response({})
    await bot.set_webhook(hook_url, secret_token=SECRET)

    said = await fake.user_says(ANN.id, "hi")
    await fake.wait_until(lambda: not fake.pending_updates)

    assert [(d.status, d.error) for d in fake.webhook_deliveries] == [
        (500, "Wrong response from the webhook: 500 Internal Server Error"),
        (403, "Wrong response from the webhook: 403 Forbidden"),
        (200, None),
    ]
    assert {d.update_id for d in fake.webhook_deliveries} == {said["update_id"]}
    webhook = await info(bot)
    assert webhook["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"
    assert webhook["pending_update_count"] == 0 and webhook["last_error_date"] > 0


async def test_a_webhook_nobody_listens_on_keeps_the_update_and_says_why(
    fake: FakeTelegram, bot: Bot
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/hook"
    await bot.set_webhook(url)

    said = await fake.user_says(ANN.id, "anyone?")
    await fake.wait_until(lambda: len(fake.webhook_deliveries) >= 2)

    assert {(d.status, d.error) for d in fake.webhook_deliveries} == {(None, "Connection refused")}
    assert fake.pending_updates == [said]
    assert (await info(bot))["last_error_message"] == "Connection refused"
    assert await bot.delete_webhook()
    assert [u.update_id for u in await bot.get_updates()] == [said["update_id"]]


async def test_one_chats_refused_update_does_not_hold_back_another_chats(
    fake: FakeTelegram, bot: Bot, endpoint: Endpoint, hook_url: str
) -> None:
    def answer(update: dict[str, Any]) -> web.Response:
        refuse = update["message"]["chat"]["id"] == ANN.id
        return web.Response(status=503) if refuse else web.json_response({})

    endpoint.answer = answer
    await bot.set_webhook(hook_url)

    first = await fake.user_says(ANN.id, "first")
    second = await fake.user_says(ANN.id, "second")
    bobs = await fake.user_says(BOB.id, "mine")
    await fake.wait_until(lambda: fake.pending_updates == [first, second])

    delivered = [u["update_id"] for _, u in endpoint.posts]
    assert bobs["update_id"] in delivered
    assert second["update_id"] not in delivered  # Ann's come in order: never before her first


async def test_a_method_in_the_answer_is_run_unless_telegram_would_ignore_it(
    fake: FakeTelegram, bot: Bot, endpoint: Endpoint, hook_url: str
) -> None:
    answers = {
        "json": web.json_response({"method": "sendMessage", "chat_id": 42, "text": "by JSON"}),
        "form": web.Response(
            body="method=sendMessage&chat_id=42&text=by+form",
            content_type="application/x-www-form-urlencoded",
        ),
        "get": web.json_response({"method": "getMe"}),
        "garbage": web.Response(body=b"{not json", content_type="application/json"),
    }
    endpoint.answer = lambda update: answers[update["message"]["text"]]
    await bot.set_webhook(hook_url)

    for text in answers:
        await fake.user_says(BOB.id, text)
    await fake.wait_until(lambda: not fake.pending_updates)

    assert [m.text for m in fake.messages_to(42)] == ["by JSON", "by form"]
    assert [r.method for r in fake.requests if r.webhook_reply] == ["sendMessage", "sendMessage"]
    assert all(d.ok for d in fake.webhook_deliveries)


async def test_aiogram_behind_its_webhook_handler_answers_a_user(
    fake: FakeTelegram, bot: Bot
) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> SendMessage:
        await message.answer("Welcome")
        return message.answer("(sent by answering the webhook)")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    handler = SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=SECRET)
    async for url in serve(handler.handle):
        await bot.set_webhook(url, secret_token=SECRET, allowed_updates=["message"])
        await fake.user_says(ANN.id, "/start")
        await fake.wait_until(lambda: len(fake.messages_to(ANN.id)) == 2)

    assert [m.text for m in fake.messages_to(ANN.id)] == [
        "Welcome",
        "(sent by answering the webhook)",
    ]
    assert [r.webhook_reply for r in fake.requests if r.method == "sendMessage"] == [False, True]
    assert fake.webhook_deliveries[0].ok and fake.pending_updates == []


async def test_a_wrong_secret_is_refused_by_aiogram_and_the_update_kept(
    fake: FakeTelegram, bot: Bot
) -> None:
    handler = SimpleRequestHandler(Dispatcher(), bot, secret_token="the-right-one")
    async for url in serve(handler.handle):
        await bot.set_webhook(url, secret_token="a-wrong-one")
        said = await fake.user_says(ANN.id, "hi")
        await fake.wait_until(lambda: fake.webhook_deliveries)

    assert fake.webhook_deliveries[0].error == "Wrong response from the webhook: 401 Unauthorized"
    assert fake.pending_updates == [said]


HOOK = "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    ("url", "secret", "description"),
    [
        (HOOK, "abc:def", "Bad Request: secret token contains unallowed characters"),
        (HOOK, "x" * 257, "Bad Request: secret token is too long"),
        ("http://exa mple.test/hook", None, "Bad Request: invalid webhook URL specified"),
        ("ftp://example.test/hook", None, "Bad Request: invalid webhook URL specified"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses_deleting_the_old_one(
    fake: FakeTelegram, bot: Bot, url: str, secret: str | None, description: str
) -> None:
    fake.updates.set_webhook_interval = 0.0
    await bot.set_webhook("http://127.0.0.1:9/old")

    with pytest.raises(TelegramBadRequest) as caught:
        await bot.set_webhook(url, secret_token=secret)

    assert caught.value.message == description
    assert fake.webhook is None  # Telegram closes the old webhook before checking the new one


async def test_set_webhook_answers_as_telegram(fake: FakeTelegram) -> None:
    base = f"{fake.url}/bot{fake.token}"
    fake.updates.set_webhook_interval = 0.0

    async def call(method: str, **params: str) -> tuple[int, dict[str, Any]]:
        async with http.post(f"{base}/{method}", data=params) as resp:
            return resp.status, await resp.json()

    async with aiohttp.ClientSession() as http:
        answers = [
            await call("deleteWebhook"),
            await call("setWebhook", url="http://127.0.0.1:9/a"),
            await call("setWebhook", url="http://127.0.0.1:9/a"),
            await call("setWebhook", url="http://127.0.0.1:9/a", secret_token="new"),
            await call("setWebhook", url=""),
            await call("deleteWebhook"),
        ]
    assert [(status, body.get("description")) for status, body in answers] == [
        (200, "Webhook is already deleted"),
        (200, "Webhook was set"),
        (200, "Webhook is already set"),
        (200, "Webhook was set"),
        (200, "Webhook was deleted"),
        (200, "Webhook is already deleted"),
    ]


async def test_a_second_set_webhook_within_a_second_is_a_retry_after(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/a")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.set_webhook("http://127.0.0.1:9/b")
    assert caught.value.retry_after == 1
    assert fake.webhook is not None and fake.webhook.url == "http://127.0.0.1:9/a"


async def test_drop_pending_updates_forgets_the_queue(fake: FakeTelegram, bot: Bot) -> None:
    await fake.user_says(ANN.id, "old news")
    await bot.delete_webhook(drop_pending_updates=True)
    assert fake.pending_updates == []

    await bot.set_webhook("http://hooks.example.test/bot", allowed_updates=["callback_query"])
    webhook = await info(bot)
    assert webhook["allowed_updates"] == ["callback_query"]
    assert webhook["ip_address"] == "<unknown>"  # the fake resolves no names
