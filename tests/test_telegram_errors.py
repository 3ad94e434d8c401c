"""Whatever answers in Telegram's place, the Telegram channel raises one of ours, without secrets.

Every exception that leaves the channel is in the ``DeliveryError`` tree (channels/__init__.py)
and carries no URL, no body and no token: aiogram's own messages can hold all three (a proxy's
"The requested URL /bot<token>/sendMessage was not found" page ends up in ``ClientDecodeError``).
The answers come over HTTP from the fake Bot API, playing Telegram or an impostor in its place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from booking_notifications.channels import (
    BotIdentity,
    DeliveryError,
    Migrated,
    Misconfigured,
    NoAnswer,
    RateLimited,
    Rejected,
    Unavailable,
    Unreachable,
)
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.channels.telegram_errors import DESCRIPTION_MAX, clean
from booking_notifications.testing.fake_telegram import FakeTelegram, ProxyReply

TOKEN = "987654:SECRET-token-Zq7wX"
SECRET = TOKEN.partition(":")[2]
MARKER = "BODY-MARKER"
"""In every body that is not a Bot API answer: it must never reach an error message."""
NGINX_502 = (
    f"<html><head><title>502 Bad Gateway</title></head><body>{MARKER} {{path}}</body></html>"
)


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, global_rate=None, per_chat_rate=None) as server:
        yield server


@pytest.fixture(scope="module")
async def shared_channel(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(TOKEN, fake.url, timeout=0.5)
    yield channel
    await channel.close()


@pytest.fixture(autouse=True)
def playing_telegram(fake: FakeTelegram) -> None:
    """Each test starts with a fake that plays Telegram (no impostor, no faults, the token)."""
    fake.reset()
    fake.impostor, fake.token, fake.fault_rate = None, TOKEN, 0.0
    fake.blocked.clear()
    fake.unknown.clear()
    fake.migrated.clear()


@pytest.fixture
def channel(shared_channel: TelegramChannel) -> TelegramChannel:
    return shared_channel


def assert_clean(error: BaseException) -> None:
    """One line of ours: no token, no URL, no body, and nothing chained that could hold them."""
    message = str(error)
    assert isinstance(error, DeliveryError), repr(error)
    assert SECRET not in message and "/bot" not in message and "://" not in message
    assert MARKER not in message and "<html" not in message.lower()
    assert "\n" not in message and 0 < len(message) <= 300
    assert error.__cause__ is None and error.__context__ is None


async def failure(channel: TelegramChannel, chat_id: int = 1) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await channel.send(chat_id, "hello")
    assert_clean(raised.value)
    return raised.value


def page(status: int, body: str, content_type: str = "text/html") -> ProxyReply:
    return ProxyReply(status, body.encode(), content_type)


def telegram(status: int, **fields: Any) -> ProxyReply:
    return ProxyReply(status, json.dumps(fields).encode(), "application/json")


# What each answer means: a wrong URL or token alarms, an outage retries, a chat's refusal is
# final, a message's refusal is final, flood control waits exactly as long as Telegram asks.
ANSWERS: list[tuple[str, ProxyReply, type[DeliveryError], str]] = [
    ("proxy 404 page", ProxyReply(), Misconfigured, "TELEGRAM_API_URL"),
    ("proxy 401 page", page(401, f"<h1>401 {MARKER}</h1>"), Misconfigured, "TELEGRAM_API_URL"),
    ("Bot API 404", telegram(404, ok=False, error_code=404, description="Not Found"), Misconfigured, "404"),
    ("Bot API 401", telegram(401, ok=False, error_code=401, description="Unauthorized"), Misconfigured, "401"),
    ("nginx 502 page", page(502, NGINX_502), Unavailable, "502"),
    ("Bot API 500", telegram(500, ok=False, error_code=500, description="Internal Server Error"), Unavailable, "500"),
    ("HTML page with 200", page(200, f"<p>{MARKER}</p>"), Unavailable, "not the Bot API"),
    ("empty body", page(200, ""), Unavailable, "not the Bot API"),
    ("JSON list", ProxyReply(200, b"[1, 2]", "application/json"), Unavailable, "not the Bot API"),
    ("ok without a result", telegram(200, ok=True), Unavailable, "no result"),
    ("not ok, no description", telegram(200, ok=False), Unavailable, "no description"),
    ("result of the wrong shape", telegram(200, ok=True, result="sent"), Unavailable, "not the Bot API"),
    ("JSON cut short", ProxyReply(200, b'{"ok": true, "res', "application/json"), Unavailable, "not the Bot API"),
    ("body cut by a dropped connection", ProxyReply(200, b'{"ok": true}', "application/json", cut_after=4), NoAnswer, "network"),
    ("connection dropped", ProxyReply(drop=True), NoAnswer, "network"),
    ("no answer in time", ProxyReply(200, b"{}", delay=1.0), NoAnswer, "timed out"),
    ("not UTF-8", ProxyReply(200, b'{"ok": \xff}', "application/json"), Unavailable, "not the Bot API"),
    ("unknown charset", ProxyReply(200, b'{"ok": true}', "application/json; charset=klingon"), Unavailable, "no result"),
    ("409 conflict", telegram(409, ok=False, error_code=409, description="Conflict: {path}"), Unavailable, "409"),
    ("413 from a proxy", page(413, f"<h1>{MARKER} too large</h1>"), Rejected, "413"),
    ("Bot API 413", telegram(413, ok=False, error_code=413, description="Request Entity Too Large"), Rejected, "413"),
    ("400 with the URL", telegram(400, ok=False, error_code=400, description="Bad Request: {path} is odd"), Rejected, "Bad Request"),
    ("403 kicked", telegram(403, ok=False, error_code=403, description="Forbidden: bot was kicked from the group chat"), Unreachable, "kicked"),
    ("429 asks for a minute", telegram(429, ok=False, error_code=429, description="Too Many Requests: retry after 60", parameters={"retry_after": 60}), RateLimited, "60"),
    ("migrated group", telegram(400, ok=False, error_code=400, description="Bad Request: group chat was upgraded to a supergroup chat", parameters={"migrate_to_chat_id": -1001}), Migrated, "-1001"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "expected", "says"),
    [pytest.param(a, e, s, id=name) for name, a, e, s in ANSWERS],
)
async def test_every_answer_becomes_one_of_our_errors_without_url_body_or_token(
    channel: TelegramChannel,
    fake: FakeTelegram,
    answer: ProxyReply,
    expected: type[DeliveryError],
    says: str,
) -> None:
    fake.impostor = answer

    error = await failure(channel)

    assert type(error) is expected
    assert says in str(error)


async def test_flood_control_asks_for_exactly_retry_after_and_a_migration_names_the_new_chat(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    fake.impostor = telegram(
        429, ok=False, error_code=429, description="x", parameters={"retry_after": 7}
    )
    rate_limited = await failure(channel)
    fake.impostor = None
    new_chat = fake.migrate(-55)
    migrated = await failure(channel, chat_id=-55)

    assert isinstance(rate_limited, RateLimited) and rate_limited.retry_after == 7
    assert isinstance(migrated, Migrated) and migrated.chat_id == new_chat


@pytest.mark.parametrize("retry_after", [-5, 0, 10**30])
async def test_a_nonsensical_retry_after_still_waits_a_sane_time(
    channel: TelegramChannel, fake: FakeTelegram, retry_after: int
) -> None:
    params = {"retry_after": retry_after}
    fake.impostor = telegram(429, ok=False, error_code=429, description="x", parameters=params)

    error = await failure(channel)

    assert not isinstance(error, RateLimited) or 1 <= error.retry_after <= 86400


async def test_the_real_telegram_answers_are_sorted_the_same_way(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    fake.blocked.add(403)
    fake.unknown.add(400)
    fake.fault_rate = 1.0
    outage = await failure(channel, 1)
    fake.fault_rate = 0.0
    blocked, unknown = await failure(channel, 403), await failure(channel, 400)
    fake.token = "987654:ROTATED"
    revoked = await failure(channel, 1)

    assert isinstance(outage, Unavailable) and "500" in str(outage)
    assert isinstance(blocked, Unreachable) and "blocked" in str(blocked)
    assert isinstance(unknown, Unreachable) and "chat not found" in str(unknown)
    assert isinstance(revoked, Misconfigured) and "401" in str(revoked)


async def test_a_channel_whose_url_has_a_wrong_path_says_404(fake: FakeTelegram) -> None:
    channel = TelegramChannel(TOKEN, f"{fake.url}/telegram")
    try:
        error = await failure(channel)
    finally:
        await channel.close()

    assert isinstance(error, Misconfigured) and "404" in str(error)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
DESCRIPTIONS = st.sampled_from(
    [
        "Not Found",
        "Unauthorized",
        "Bad Request: chat not found",
        "Bad Request: message is too long",
        "The requested URL {path} was not found",
        f"proxy says {TOKEN}",
        "line one\nline two {path}",
    ]
) | st.text(max_size=40)
BOT_API_ANSWERS = st.fixed_dictionaries(
    {"ok": st.booleans()},
    optional={
        "error_code": st.integers(-1, 999) | JSON_VALUES,
        "description": DESCRIPTIONS | JSON_VALUES,
        "parameters": st.fixed_dictionaries(
            {},
            optional={
                "retry_after": st.integers(-(10**20), 10**20) | JSON_VALUES,
                "migrate_to_chat_id": st.integers(-(10**15), 10**15) | JSON_VALUES,
            },
        )
        | JSON_VALUES,
        "result": JSON_VALUES,
    },
)
REAL_ANSWERS: list[tuple[int, dict[str, Any]]] = [
    (200, {"ok": True, "result": {"message_id": 7, "date": 0, "chat": {"id": 1, "type": "private"}}}),
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1002}}),
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
]  # fmt: skip
"""Telegram's own answers: the ones a channel meets every day."""
BODIES = st.one_of(
    st.sampled_from(REAL_ANSWERS).map(lambda real: json.dumps(real[1]).encode()),  # odd status
    st.just(
        f"<html><body>{MARKER}: the requested URL {{path}} was not found</body></html>".encode()
    ),
    st.just(b""),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    BOT_API_ANSWERS.map(lambda value: json.dumps(value).encode()),
    BOT_API_ANSWERS.map(lambda value: json.dumps(value).encode()[:-3]),  # truncated
    st.binary(max_size=30).map(lambda noise: MARKER.encode() + noise),
)
ODD_REPLIES = st.builds(
    ProxyReply,
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 413, 418, 429, 500, 502, 503, 504]),
    body=BODIES,
    content_type=st.sampled_from(
        ["application/json", "text/html; charset=utf-8", "text/plain", "application/json; charset=bogus", "application/json; charset=utf-16"]
    ),
    cut_after=st.none() | st.integers(0, 10),
    drop=st.integers(0, 9).map(lambda n: n == 0),
)  # fmt: skip


REPLIES = ODD_REPLIES | st.sampled_from(REAL_ANSWERS).map(
    lambda real: ProxyReply(real[0], json.dumps(real[1]).encode(), "application/json")
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(reply=REPLIES)
async def test_any_answer_at_all_gives_a_message_id_or_one_of_our_errors(
    channel: TelegramChannel, fake: FakeTelegram, reply: ProxyReply
) -> None:
    fake.impostor = reply
    try:
        message_id = await channel.send(1, "hello")
    except DeliveryError as error:
        assert_clean(error)
        event(type(error).__name__)  # --hypothesis-show-statistics: which errors were met
    else:
        assert isinstance(message_id, int)
        event("sent")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("123456:ABC-def ", "space"),
        ("123456:ABC-def\n", "space"),
        ("abc", "123456:ABC-def"),
        ("123456:", "123456:ABC-def"),
        (":ABC-def", "123456:ABC-def"),
    ],
)
def test_a_malformed_token_is_refused_in_one_line_that_does_not_repeat_it(
    token: str, why: str
) -> None:
    with pytest.raises(Misconfigured) as raised:
        TelegramChannel(token, "http://127.0.0.1:9")

    message = str(raised.value)
    assert "TELEGRAM_BOT_TOKEN" in message and why in message and "\n" not in message
    assert token.strip() not in message.replace("123456:ABC-def", "")
    assert raised.value.__cause__ is None and raised.value.__context__ is None


@pytest.mark.parametrize(
    "url",
    [
        "http://",
        "ftp://example.org",
        "not a url",
        "http://exa mple.org",
        "http://[::1",
        "http://h:x",
    ],
)
def test_an_unusable_api_url_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(Misconfigured, match="TELEGRAM_API_URL"):
        TelegramChannel(TOKEN, url)


async def test_check_names_the_bot(channel: TelegramChannel) -> None:
    identity = await channel.check()

    assert identity == BotIdentity(id=987654, username="fake_booking_bot", name="Fake Booking Bot")
    assert str(identity) == "@fake_booking_bot (id 987654)"


@pytest.mark.parametrize(
    ("breakage", "expected", "says"),
    [
        ("revoked token", Misconfigured, "TELEGRAM_BOT_TOKEN"),
        ("proxy page", Misconfigured, "TELEGRAM_API_URL"),
        ("outage", Unavailable, "502"),
        ("nobody listening", NoAnswer, "network"),
    ],
)
async def test_check_fails_with_one_line_of_ours(
    channel: TelegramChannel,
    fake: FakeTelegram,
    breakage: str,
    expected: type[DeliveryError],
    says: str,
) -> None:
    if breakage == "revoked token":
        fake.token = "987654:ROTATED"
    elif breakage == "proxy page":
        fake.impostor = ProxyReply()
    elif breakage == "outage":
        fake.fail_for(60)
    else:
        fake.impostor = ProxyReply(drop=True)

    with pytest.raises(DeliveryError) as raised:
        await channel.check()

    assert_clean(raised.value)
    assert type(raised.value) is expected and says in str(raised.value)


async def test_a_refused_token_alarms_once_until_a_send_succeeds_again(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="booking_notifications.channels.telegram")
    channel = TelegramChannel(TOKEN, fake.url)  # its own: the alarm is the channel's state
    try:
        fake.token = "987654:ROTATED"
        for _ in range(5):
            await failure(channel)
        fake.token = TOKEN
        await channel.send(1, "back")
        await channel.send(2, "still fine")
        fake.token = "987654:ROTATED"
        await failure(channel)
    finally:
        await channel.close()

    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == [logging.ERROR, logging.WARNING, logging.ERROR]
    assert "401" in lines[0][1] and "TELEGRAM_BOT_TOKEN" in lines[0][1]
    assert "again" in lines[1][1]
    assert all(r.exc_info is None for r in caplog.records)


class _Explodes(BaseRequestMiddleware):
    """A bug inside the client whose message holds the URL: nobody expected it."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        raise RuntimeError(f"boom at {bot.session.api.api_url(bot.token, 'sendMessage')}")


async def test_an_unexpected_error_is_ours_and_its_traceback_is_logged_without_the_token(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    channel = TelegramChannel(TOKEN, fake.url)
    channel._bot.session.middleware(_Explodes())  # the one way in for a foreign exception
    try:
        error = await failure(channel)
    finally:
        await channel.close()

    assert isinstance(error, Unavailable) and "RuntimeError" in str(error)
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    logged = caplog.text
    assert "Traceback" in logged and "RuntimeError: boom at" in logged
    assert SECRET not in logged and record.exc_info is None


@given(before=st.text(max_size=300), after=st.text(max_size=300))
def test_a_description_never_carries_the_token_whatever_surrounds_it(
    before: str, after: str
) -> None:
    for description in (before + SECRET + after, before + TOKEN + after, f"{before}/bot{TOKEN}"):
        cleaned = clean(description, SECRET)
        assert SECRET not in cleaned and "/bot" not in cleaned
        assert cleaned.isprintable() and 0 < len(cleaned) <= DESCRIPTION_MAX


@pytest.mark.parametrize(("base", "waits"), [("http://127.0.0.1:1", False), ("https://t.me", True)])
async def test_closing_waits_for_tls_connections_only_when_there_are_some(
    base: str, waits: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiogram sleeps 250 ms after closing, for TLS shutdowns: a plain-HTTP server has none."""
    from aiogram.client.session import aiohttp as aiogram_aiohttp
    from aiogram.client.telegram import TelegramAPIServer

    from booking_notifications.channels.telegram_errors import CheckedSession

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(aiogram_aiohttp, "asyncio", SimpleNamespace(sleep=sleep))
    session = CheckedSession(api=TelegramAPIServer.from_base(base))
    await session.create_session()
    await session.close()

    assert slept == ([0.25] if waits else [])
