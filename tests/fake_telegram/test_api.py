"""The fake Bot API must look like Telegram to aiogram: same responses, same exceptions."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from booking_notifications.testing.fake_telegram import DEFAULT_TOKEN, FakeTelegram, ProxyReply
from tests.support.bots import bot_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    """The shared server, cleaned and back to the default configuration for each test."""
    server.reset()
    server.global_rate, server.per_chat_rate, server.fault_rate = 30, 1, 0.0
    server.blocked.clear()
    server.unknown.clear()
    server.migrated.clear()
    server.impostor = None
    server.token = DEFAULT_TOKEN
    return server


async def test_send_returns_increasing_message_ids_and_is_recorded(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.per_chat_rate = None
    messages = [await bot.send_message(42, f"reminder {n}") for n in range(3)]
    other = await bot.send_message(43, "hello")

    assert [m.message_id for m in messages] == [1, 2, 3]
    assert other.message_id == 1
    assert messages[0].chat.id == 42 and messages[0].chat.type == "private"
    assert messages[0].from_user is not None and messages[0].from_user.is_bot
    assert messages[2].text == "reminder 2"
    assert [r.text for r in fake.sent_to(42)] == ["reminder 0", "reminder 1", "reminder 2"]
    assert [r.message_id for r in fake.sent_to(42)] == [1, 2, 3]
    assert fake.count(200) == 4 and len(fake.sent) == 4
    fake.reset()
    assert fake.requests == [] and (await bot.send_message(42, "again")).message_id == 1


async def test_get_me_answers_as_telegram_with_the_configured_username() -> None:
    async with (
        FakeTelegram(token="987654:OTHER", username="booking_test_bot") as other,
        bot_for(other) as client,
    ):
        me = await client.get_me()
        sent = await client.send_message(1, "hi")
    assert me.model_dump(exclude_none=True) == {
        "id": 987654,
        "is_bot": True,
        "first_name": "Fake Booking Bot",
        "username": "booking_test_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }
    assert sent.from_user is not None  # a message's sender carries no capabilities
    assert sent.from_user.model_dump(exclude_none=True) == {
        "id": 987654,
        "is_bot": True,
        "first_name": "Fake Booking Bot",
        "username": "booking_test_bot",
    }


async def test_get_me_json_bodies_and_case_insensitive_method_names(
    fake: FakeTelegram, bot: Bot
) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot

    base = f"{fake.url}/bot{fake.token}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/GETME") as resp:
            assert resp.status == 200 and (await resp.json())["result"]["id"] == 123456
        async with http.post(f"{base}/sendmessage", json={"chat_id": 5, "text": "hi"}) as resp:
            assert resp.status == 200 and (await resp.json())["result"]["text"] == "hi"
        async with http.post(f"{base}/sendPigeon", data={"chat_id": "5"}) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
    assert fake.sent_to(5)[0].text == "hi"


async def test_second_message_to_a_chat_within_a_second_gets_retry_after(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.send_message(1, "first")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(1, "too soon")
    assert caught.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in caught.value.message
    assert fake.count(429) == 1 and len(fake.sent) == 1

    await asyncio.sleep(caught.value.retry_after)
    assert (await bot.send_message(1, "after waiting")).message_id == 2


async def test_no_more_than_30_messages_succeed_in_any_second(fake: FakeTelegram, bot: Bot) -> None:
    results = await asyncio.gather(
        *(bot.send_message(chat, "broadcast") for chat in range(100, 131)),
        return_exceptions=True,
    )

    times = sorted(r.monotonic for r in fake.sent)
    assert all(sum(t <= u < t + 1 for u in times) <= 30 for t in times)
    assert sum(isinstance(r, TelegramRetryAfter) for r in results) == 31 - len(times)
    arrivals = [r.monotonic for r in fake.requests]
    if max(arrivals) - min(arrivals) < 1.0:  # always, unless the machine is badly overloaded
        assert len(times) == 30 and fake.count(429) == 1


async def test_rate_limits_can_be_disabled(fake: FakeTelegram, bot: Bot) -> None:
    fake.global_rate = None
    fake.per_chat_rate = None
    for n in range(35):
        await bot.send_message(9, f"message {n}")
    assert fake.count(200) == 35 and fake.count(429) == 0


async def test_blocked_chat_raises_forbidden_even_when_blocked_mid_test(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.send_message(7, "still friends")
    fake.blocked.add(7)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(7, "are you there?")
    assert fake.count(403) == 1 and len(fake.sent_to(7)) == 1


async def test_unknown_chat_raises_chat_not_found(fake: FakeTelegram, bot: Bot) -> None:
    fake.unknown.add(5)
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(5, "hello")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message("@no_such_channel", "hello")
    assert fake.sent == []


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("", None, "Bad Request: message text is empty"),
        ("<b></b>", "HTML", "Bad Request: message text is empty"),
        ("x" * 4097, None, "Bad Request: message is too long"),
        ("<b>" + "&amp;" * 4097 + "</b>", "HTML", "Bad Request: message is too long"),
        ("<b>bold", "HTML", "Bad Request: can't parse entities: Can't find end tag"),
        ("<marquee>hi</marquee>", "HTML", 'Unsupported start tag "marquee"'),
        ("<b><i>x</b></i>", "HTML", 'expected "</i>", found "</b>"'),
        ("1 < 2", "HTML", "Bad Request: can't parse entities"),
        ("<span>x</span>", "HTML", "tg-spoiler"),
    ],
)
async def test_invalid_text_raises_bad_request(
    fake: FakeTelegram, bot: Bot, text: str, parse_mode: str | None, description: str
) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(1, text, parse_mode=parse_mode)
    assert description in caught.value.message
    assert fake.count(400) == 1


async def test_html_length_is_counted_after_parsing_entities(fake: FakeTelegram, bot: Bot) -> None:
    fake.per_chat_rate = None
    long_html = "<b>" + "&lt;" * 4096 + "</b>"
    message = await bot.send_message(1, long_html, parse_mode="HTML")
    assert message.text == "<" * 4096
    spoiler = '<span class="tg-spoiler">a</span> <a href="https://x.test">b</a> &quot;&#65;'
    assert (await bot.send_message(1, spoiler, parse_mode="HTML")).text == 'a b "A'
    assert fake.sent_to(1)[0].parse_mode == "HTML"


async def test_wrong_token_raises_unauthorized(fake: FakeTelegram) -> None:
    async with bot_for(fake, token="654321:WRONG") as intruder:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await intruder.send_message(1, "hi")
    assert fake.count(401) == 1 and fake.sent == []


async def test_a_revoked_token_is_refused_from_then_on(fake: FakeTelegram, bot: Bot) -> None:
    assert (await bot.get_me()).is_bot
    fake.token = "123456:NEW-TOKEN"
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await bot.send_message(1, "hi")
    assert fake.count(401) == 1


@pytest.mark.parametrize("token", ["abc", "123456:", "12a:xyz"])
async def test_a_path_with_no_token_in_it_is_not_found(fake: FakeTelegram, token: str) -> None:
    base = f"{fake.url}/bot{token}"
    async with aiohttp.ClientSession() as http, http.post(f"{base}/getMe") as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_a_group_upgraded_to_a_supergroup_answers_with_its_new_id(
    fake: FakeTelegram, bot: Bot
) -> None:
    supergroup = fake.migrate(-4242)

    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-4242, "hello group")
    message = await bot.send_message(caught.value.migrate_to_chat_id, "hello supergroup")

    assert caught.value.migrate_to_chat_id == supergroup == -1_000_000_004_242
    assert "group chat was upgraded to a supergroup chat" in caught.value.message
    assert message.chat.type == "supergroup" and message.chat.id == supergroup
    assert fake.count(400) == 1 and fake.sent_to(-4242) == []
    assert [r.text for r in fake.sent_to(supergroup)] == ["hello supergroup"]


async def test_an_impostor_page_echoes_the_token_as_a_misconfigured_proxy_does(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.impostor = ProxyReply()  # Apache's 404 page

    with pytest.raises(ClientDecodeError) as caught:
        await bot.send_message(1, "hi")

    assert f"The requested URL /bot{DEFAULT_TOKEN}/sendMessage was not found" in str(caught.value)
    assert fake.count(404) == 1 and fake.sent == []


@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        (ProxyReply(200, b'{"ok": true, "result": {"message_id": 1}}', cut_after=9), "Payload"),
        (ProxyReply(drop=True), "ServerDisconnectedError"),
        (ProxyReply(200, b"{}", delay=1.0), "timeout"),
    ],
)
async def test_an_impostor_can_cut_drop_or_hold_back_its_answer(
    fake: FakeTelegram, reply: ProxyReply, cause: str
) -> None:
    fake.impostor = reply
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.url), timeout=0.3)
    async with Bot(DEFAULT_TOKEN, session=session) as impatient:
        with pytest.raises(TelegramNetworkError, match=cause):
            await impatient.send_message(1, "hi")
    assert fake.sent == []


async def test_fault_rate_one_raises_server_error(fake: FakeTelegram, bot: Bot) -> None:
    fake.fault_rate = 1.0
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(1, "hi")
    assert fake.count(500) == 1 and fake.sent == []


async def test_fault_injection_is_reproducible_with_a_seed() -> None:
    outcomes = []
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with FakeTelegram(fault_rate=0.5, seed=3) as server:
                for _ in range(20):
                    async with http.post(f"{server.url}/bot{server.token}/getMe") as resp:
                        await resp.read()
                outcomes.append([r.status for r in server.requests])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 500}


async def test_fail_for_makes_everything_fail_then_recovers(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_for(0.5)
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    with pytest.raises(TelegramServerError):
        await bot.send_message(1, "down")
    await asyncio.sleep(0.5)
    assert (await bot.send_message(1, "up again")).text == "up again"
    assert fake.count(502) == 2


async def test_cli_starts_answers_get_me_and_exits_cleanly_on_sigterm() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "booking_notifications.testing.fake_telegram",
        "--port",
        str(port),
        "--migrated=-7",
        "--username=booking_test_bot",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        migrated = await asyncio.wait_for(proc.stdout.readline(), timeout=15)
        banner = await asyncio.wait_for(proc.stdout.readline(), timeout=15)
        url = f"http://127.0.0.1:{port}"
        assert migrated.decode().strip() == "group -7 is now supergroup -1000000000007"
        assert banner.decode().strip() == f"fake Telegram Bot API on {url} (token {DEFAULT_TOKEN})"
        session = AiohttpSession(api=TelegramAPIServer.from_base(url))
        async with Bot(DEFAULT_TOKEN, session=session) as client:
            assert (await client.get_me()).username == "booking_test_bot"
            with pytest.raises(TelegramMigrateToChat):
                await client.send_message(-7, "hello group")
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert "getMe chat=None status=200" in rest.decode()
