"""The receiver that README shows, run as written: it takes our signed events, frees the slot of
a booking the person cancelled once (a redelivery changes nothing), and refuses a forged
signature and a stale timestamp."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from booking_notifications.channels.webhook import signed_headers
from tests.support.receiver import SECRET

README = Path(__file__).parent.parent / "README.md"
MARK = "<!-- receiver: tests/test_readme_receiver.py runs this block -->"


def readme_receiver() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(MARK) + r"\n```python\n(.*?)```", text, re.S)
    assert found, "README lost its receiver"
    return found.group(1)


def test_the_readme_receiver_is_about_ten_lines() -> None:
    lines = [line for line in readme_receiver().splitlines() if line.strip()]
    assert len(lines) <= 15


EVENT = {
    "v": 1,
    "id": "evt_0123456789abcdef0123456789abcdef",
    "seq": 7,
    "type": "booking.cancelled",
    "timestamp": "2026-12-02T10:00:00Z",
    "booking_id": 42,
    "booking_ref": "b-42",
    "user_ref": "customer-7",
    "notice": None,
    "data": {"by": "user", "reason": None},
}


async def test_the_readme_receiver_frees_the_slot_once_and_refuses_forgeries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTS_WEBHOOK_SECRET", SECRET)
    freed: list[str] = []

    async def free_slot(ref: str) -> None:
        freed.append(ref)

    scope: dict[str, Any] = {"free_slot": free_slot}
    exec(compile(readme_receiver(), "README.md", "exec"), scope)
    app = web.Application()
    app.router.add_post("/hook", scope["receive"])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    body = json.dumps(EVENT)
    now = datetime.now(UTC)
    genuine = signed_headers(SECRET, EVENT["id"], now, body)  # type: ignore[arg-type]
    other_key = "whsec_" + "QUJD" * 8
    forged = signed_headers(other_key, EVENT["id"], now, body)  # type: ignore[arg-type]
    stale = signed_headers(SECRET, EVENT["id"], now - timedelta(minutes=10), body)  # type: ignore[arg-type]
    tampered = body.replace('"b-42"', '"b-43"')
    answers = []
    try:
        async with aiohttp.ClientSession() as http:
            for headers, data in (
                (forged, body),
                (stale, body),
                (genuine, tampered),
                (genuine, body),
                (genuine, body),  # the same event again: deduplicated
            ):
                async with http.post(url, data=data, headers=headers) as answer:
                    answers.append(answer.status)
    finally:
        await runner.cleanup()

    assert answers == [400, 400, 400, 204, 204]
    assert freed == ["b-42"]
