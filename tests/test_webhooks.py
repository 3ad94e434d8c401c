"""Events to a real HTTP receiver, signed per Standard Webhooks: the signing against the spec's own
vectors, and the relay's answers to every kind of receiver (down, 5xx, 4xx, 429 with Retry-After,
redirects, huge answers, no answer). The relay rounds are driven here one by one, on SQLite and
PostgreSQL; ``tests/test_webhooks_e2e.py`` runs them on Temporal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import select

from booking_notifications.activities.events import EventRelay, backoff
from booking_notifications.api.events import page, redeliver
from booking_notifications.channels.webhook import (
    MAX_ANSWER,
    NotDelivered,
    WebhookSender,
    secret_problem,
    signed_headers,
)
from booking_notifications.db.events import EventType, emit
from booking_notifications.db.models import Event
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.settings import Settings, SettingsError, load_settings
from tests.support.receiver import SECRET, Arrival, Receiver

DAY = timedelta(hours=24)


def test_signing_matches_the_specification_s_own_vector() -> None:
    headers = signed_headers(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        datetime.fromtimestamp(1614265330, UTC),
        '{"test": 2432232314}',
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "content-type": "application/json",
    }


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_ (a Standard Webhooks secret)"),
        ("whsec_", "must hold 24 to 64 bytes after whsec_ (it holds 0)"),
        ("whsec_not base64!", "must be whsec_ followed by base64"),
        ("whsec_c2hvcnQ=", "must hold 24 to 64 bytes after whsec_ (it holds 5)"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", None),
    ],
)
def test_a_secret_is_whsec_and_base64_of_24_to_64_bytes(secret: str, problem: str | None) -> None:
    assert secret_problem(secret) == problem


@pytest.mark.parametrize(
    ("environment", "line"),
    [
        (
            {"EVENTS_WEBHOOK_URL": "ftp://example.com/hook", "EVENTS_WEBHOOK_SECRET": SECRET},
            "bad setting EVENTS_WEBHOOK_URL: Value error, EVENTS_WEBHOOK_URL is not an http:// "
            "or https:// URL with a host",
        ),
        (
            {"EVENTS_WEBHOOK_URL": "https://example.com/hook"},
            "bad setting Value error, EVENTS_WEBHOOK_URL is set without EVENTS_WEBHOOK_SECRET "
            "(a whsec_ secret)",
        ),
        (
            {"EVENTS_WEBHOOK_URL": "https://example.com/hook", "EVENTS_WEBHOOK_SECRET": " "},
            "bad setting Value error, EVENTS_WEBHOOK_URL is set without EVENTS_WEBHOOK_SECRET "
            "(a whsec_ secret)",
        ),
        (
            {"EVENTS_WEBHOOK_URL": "https://example.com/hook", "EVENTS_WEBHOOK_SECRET": "whsec_x"},
            "bad setting EVENTS_WEBHOOK_SECRET: Value error, must be whsec_ followed by base64",
        ),
        (
            {"EVENTS_RETRY_FOR": "2d", "EVENTS_RETENTION": "1d"},
            "bad setting Value error, EVENTS_RETENTION must be at least EVENTS_RETRY_FOR",
        ),
    ],
)
def test_bad_event_settings_fail_at_start_with_one_line(
    environment: dict[str, str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == line
    assert SECRET not in str(refused.value)


def test_the_backoff_doubles_from_a_second_to_five_minutes() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 9, 10, 30)] == [1, 2, 4, 256, 300, 300]


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(db_url)
    yield make_sessions(engine)
    await engine.dispose()


async def _write(
    sessions: Sessions, *events: tuple[EventType, int], at: datetime | None = None
) -> None:
    """One transaction per event: (type, booking id)."""
    for type, booking_id in events:
        async with sessions() as session:
            emit(session, type, at=at or datetime.now(UTC), booking_id=booking_id)
            await session.commit()


async def _rows(sessions: Sessions) -> list[Event]:
    async with sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.seq)))


@asynccontextmanager
async def _relay(sessions: Sessions, receiver: Receiver) -> AsyncIterator[EventRelay]:
    """The relay, sending to ``receiver``."""
    sender = WebhookSender(receiver.url, SECRET)
    try:
        yield EventRelay(sessions, sender, retry_for=DAY, retention=timedelta(days=30))
    finally:
        await sender.close()


async def _until_quiet(relay: EventRelay, rounds: int = 20) -> None:
    """Run rounds until one finds nothing due."""
    for _ in range(rounds):
        if not await relay.round():
            return
    raise AssertionError("the relay kept finding events due")


async def test_every_type_arrives_signed_in_order_per_booking(sessions: Sessions) -> None:
    every = [(type, 1 + n % 3) for n, type in enumerate(EventType)]
    await _write(sessions, *every)
    async with Receiver() as receiver, _relay(sessions, receiver) as relay:
        await _until_quiet(relay)

    assert all(arrival.verified for arrival in receiver.arrivals)
    assert sorted(e["type"] for e in receiver.delivered) == sorted(str(t) for t in EventType)
    for booking_id in (1, 2, 3):
        seqs = [e["seq"] for e in receiver.delivered if e["booking_id"] == booking_id]
        assert seqs == sorted(seqs) and seqs
    assert [a.headers["webhook-id"] for a in receiver.arrivals] == [
        e["id"] for e in receiver.delivered
    ]
    assert all(row.delivered_at is not None and row.attempts == 1 for row in await _rows(sessions))


async def test_a_failing_event_holds_back_its_booking_s_later_ones_and_keeps_its_id(
    sessions: Sessions,
) -> None:
    """The receiver answers 503 to the first three requests: booking 1's first event waits for
    its retries and its second waits for it, booking 2 goes on meanwhile."""
    await _write(sessions, (EventType.BOOKING_MOVED, 1), (EventType.NOTICE_SENT, 2))
    await _write(sessions, (EventType.BOOKING_CANCELLED, 1))
    refused = 0

    def flaky(arrival: Arrival) -> web.Response | None:
        nonlocal refused
        if arrival.event["type"] != "booking.moved" or refused == 3:
            return None
        refused += 1
        return web.Response(status=503)

    async with Receiver(answer=flaky) as receiver, _relay(sessions, receiver) as relay:
        for _ in range(40):
            await relay.round()
            if len(receiver.delivered) == 3:
                break
            await asyncio.sleep(0.25)

    ids = [a.headers["webhook-id"] for a in receiver.arrivals]
    first = [a for a in receiver.arrivals if a.event["type"] == "booking.moved"]
    assert [a.answered for a in first] == [503, 503, 503, 204]
    assert len({a.headers["webhook-id"] for a in first}) == 1  # the same id on every retry
    assert [e["type"] for e in receiver.delivered] == [
        "notice.sent",
        "booking.moved",
        "booking.cancelled",
    ]
    assert len(ids) == 6


async def test_a_4xx_is_final_and_recorded_and_can_be_redelivered(sessions: Sessions) -> None:
    await _write(sessions, (EventType.NOTICE_FAILED, 1), (EventType.USER_UNREACHABLE, 1))
    async with Receiver(status=410) as receiver, _relay(sessions, receiver) as relay:
        await _until_quiet(relay)
        failed = await page(sessions, 0, 100, failed=True)
        receiver.status = 200
        again = await redeliver(sessions, [failed[0].seq], datetime.now(UTC), DAY)
        await _until_quiet(relay)

    assert [(e.type, e.attempts, e.last_error) for e in failed] == [
        ("notice.failed", 1, "the receiver answered 410"),
        ("user.unreachable", 1, "the receiver answered 410"),
    ]
    assert again == 1
    assert [a.answered for a in receiver.arrivals] == [410, 410, 200]
    assert [e["type"] for e in receiver.delivered] == ["notice.failed"]
    assert [e.type for e in await page(sessions, 0, 100, failed=True)] == ["user.unreachable"]


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (503, {"Retry-After": "120"}, 120.0),
        (500, {}, backoff(1).total_seconds()),
        (408, {}, backoff(1).total_seconds()),
        (302, {"Location": "http://127.0.0.1:9/elsewhere"}, backoff(1).total_seconds()),
    ],
)
async def test_a_retried_answer_waits_for_retry_after_or_the_backoff(
    sessions: Sessions, status: int, headers: dict[str, str], wait: float
) -> None:
    await _write(sessions, (EventType.NOTICE_SENT, 1))
    async with (
        Receiver(status=status, headers=headers) as receiver,
        _relay(sessions, receiver) as relay,
    ):
        before = datetime.now(UTC)
        await relay.round()
    (row,) = await _rows(sessions)

    assert len(receiver.arrivals) == 1  # a redirect is not followed
    assert row.delivered_at is None and row.failed_at is None
    assert row.next_attempt_at is not None
    assert abs((row.next_attempt_at - before).total_seconds() - wait) < 2
    assert row.last_error is not None and str(status) in row.last_error


async def test_a_receiver_that_never_answers_costs_one_bounded_request() -> None:
    released = asyncio.Event()

    async def never(_request: web.Request) -> web.StreamResponse:
        await released.wait()
        return web.Response()

    silent = web.Application()
    silent.router.add_post("/", never)
    runner = web.AppRunner(silent)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sender = WebhookSender(f"http://127.0.0.1:{port}/", SECRET, aiohttp.ClientTimeout(total=1))
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(NotDelivered) as silence:
            await sender.send("evt_1", "{}", datetime.now(UTC))
        waited = asyncio.get_running_loop().time() - started
    finally:
        await sender.close()
        released.set()
        await runner.cleanup()

    assert str(silence.value) == "no answer within 1 s"
    assert waited < 3


async def test_a_huge_answer_is_read_no_further_than_its_first_64_kib(sessions: Sessions) -> None:
    await _write(sessions, (EventType.NOTICE_SENT, 1), (EventType.NOTICE_SENT, 2))
    huge = b"x" * (20 * MAX_ANSWER)

    def hostile(arrival: Arrival) -> web.StreamResponse | None:
        return web.Response(status=200, body=huge) if arrival.event["booking_id"] == 2 else None

    async with Receiver(answer=hostile) as receiver, _relay(sessions, receiver) as relay:
        await _until_quiet(relay)

    assert len(receiver.delivered) == 2  # a 200 all the same
    assert all(row.delivered_at is not None for row in await _rows(sessions))


async def test_an_event_not_through_within_its_window_finally_fails(sessions: Sessions) -> None:
    old = datetime.now(UTC) - DAY - timedelta(minutes=1)
    await _write(sessions, (EventType.NOTICE_SENT, 1), at=old)
    await _write(sessions, (EventType.NOTICE_SENT, 2))
    async with Receiver(status=503) as receiver, _relay(sessions, receiver) as relay:
        await relay.round()
    rows = await _rows(sessions)

    assert [r.failed_at is not None for r in rows] == [True, False]
    assert rows[0].last_error == "not delivered within 24h (EVENTS_RETRY_FOR)"
    assert [a.event["booking_id"] for a in receiver.arrivals] == [2]


async def test_without_a_webhook_the_relay_only_prunes_past_the_retention(
    sessions: Sessions,
) -> None:
    await _write(sessions, (EventType.NOTICE_SENT, 1), at=datetime.now(UTC) - timedelta(days=31))
    await _write(sessions, (EventType.NOTICE_SENT, 2))
    relay = EventRelay(sessions, None, retry_for=DAY, retention=timedelta(days=30))
    await relay._prune()

    assert [row.booking_id for row in await _rows(sessions)] == [2]
    assert Settings.model_validate({}).events_retention == timedelta(days=30)
